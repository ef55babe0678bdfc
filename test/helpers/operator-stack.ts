import { startStack, type Stack, type StackOptions } from './stack.js'

/**
 * A stack for operator views, with a place for every state: mg.example.com and mg.other.com (us),
 * mg.held.com (us) paused before the worker starts (so it holds that domain's messages from the
 * first one), mg.example.eu with no worker serving eu (its messages stay queued), and the client
 * "shop" that may use mg.example.com only.
 */
export async function operatorStack (target: Pick<StackOptions, 'cluster' | 'partitions'>): Promise<Stack> {
  const stack = await startStack({
    domains: [{ name: 'mg.example.com', region: 'us' }, { name: 'mg.other.com', region: 'us' }, { name: 'mg.held.com', region: 'us' }, { name: 'mg.example.eu', region: 'eu' }],
    clients: { shop: ['mg.example.com'] },
    env: { WORKER_REGIONS: 'us' },
    worker: false,
    ...target
  })
  await stack.api.inject({ method: 'POST', url: '/v1/domains/mg.held.com/pause', headers: stack.auth(), payload: { reason: 'under review' } })
  await stack.startWorker()
  return stack
}
