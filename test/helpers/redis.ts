import { randomUUID } from 'node:crypto'

/** The Redis the test runner brought up (test/run.ts sets REDIS_URL for every test process). */
export function testRedisUrl (): string {
  const url = process.env.REDIS_URL
  if (!url) throw new Error('REDIS_URL is not set: run tests through `npm test`')
  return url
}

/** A key prefix of this test's own, so test files never see each other's keys. */
export function uniquePrefix (): string {
  return `mqtest-${randomUUID().slice(0, 8)}`
}

/** The test run's Redis Cluster seed nodes, or null when this machine has none (see test/run.ts). */
export function testClusterNodes (): string | null {
  return process.env.REDIS_CLUSTER_TEST_NODES || null
}
