/** Start-up configuration problem; message is one line naming the file (or environment) and field. */
export class ConfigError extends Error {
  readonly code = 'MQ_ERR_CONFIG'
  override readonly name = 'ConfigError'
}
