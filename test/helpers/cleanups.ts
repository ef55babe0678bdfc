import type { TestContext } from 'node:test'

export type Cleanup = (fn: () => Promise<void> | void) => void

/**
 * Cleanup steps run when the test ends, pass or fail, last registered first (t.after runs in
 * registration order, and a stack must close before the private Redis it uses stops). Every
 * step runs even if an earlier one throws.
 */
export function cleanups (t: TestContext): Cleanup {
  const steps: Array<() => Promise<void> | void> = []
  t.after(async () => {
    let failure: { err: unknown } | null = null
    for (const step of steps.reverse()) {
      try { await step() } catch (err) { failure ??= { err } }
    }
    if (failure) throw failure.err
  })
  return (fn) => { steps.push(fn) }
}
