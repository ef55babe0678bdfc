import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import Mailgun from 'mailgun.js'
import { eventually, startStack, type Stack } from '../helpers/stack.js'

// The drop-in promise: an application on the official SDK changes only its base URL and key.
let stack: Stack
let url: string
before(async () => {
  stack = await startStack()
  url = await stack.api.listen({ host: '127.0.0.1', port: 0 })
})
after(async () => { await stack.close() })

const sdk = (key: string) => new Mailgun(FormData).client({ username: 'api', key, url })

test('mailgun.js messages.create queues through mailqueue and reaches Mailgun with the domain key', async () => {
  const res = await sdk(stack.clientKeys.main as string).messages.create('mg.example.com', {
    from: 'Shop <shop@mg.example.com>', to: ['a@example.com', 'b@example.com'], subject: 'Hi', text: 'Hello',
    'o:tag': ['welcome'], 'v:order': '42',
    attachment: [{ data: Buffer.from('report body'), filename: 'report.txt' }]
  })
  assert.equal(res.status, 200)
  assert.equal(res.message, 'Queued. Thank you.')
  assert.match(res.id ?? '', /^<.+@mg\.example\.com>$/)
  const got = await eventually(() => stack.sims.us.received().find((m) => m.messageId === res.id), 'arrival at the simulator')
  assert.equal(got.key, stack.sendingKeys['mg.example.com'])
  assert.deepEqual(got.fields.to, ['a@example.com', 'b@example.com'])
  assert.deepEqual(got.fields['o:tag'], ['welcome'])
  assert.deepEqual(got.fields['v:order'], ['42'])
  assert.deepEqual(got.files.map((f) => [f.field, f.filename, f.size]), [['attachment', 'report.txt', 11]])
})

test('urlencoded posts, Mailgun-shaped refusals', async () => {
  const auth = 'Basic ' + Buffer.from(`api:${stack.clientKeys.main}`).toString('base64')
  const post = (path: string, body: string, authorization = auth) => fetch(`${url}${path}`, {
    method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body
  })
  const ok = await post('/v3/mg.example.com/messages', 'from=a%40mg.example.com&to=x%40example.com&text=hi&h%3AMessage-Id=%3Cmine%40mg.example.com%3E')
  assert.equal(ok.status, 200)
  assert.deepEqual(await ok.json(), { id: '<mine@mg.example.com>', message: 'Queued. Thank you.' })

  const noFrom = await post('/v3/mg.example.com/messages', 'to=x%40example.com&text=hi')
  assert.equal(noFrom.status, 400)
  assert.equal((await noFrom.json()).message, 'from parameter is missing')

  const wrongKey = await post('/v3/mg.example.com/messages', 'from=a&to=b&text=c', 'Basic ' + Buffer.from('api:nope').toString('base64'))
  assert.equal(wrongKey.status, 401)
  assert.equal(await wrongKey.text(), 'Forbidden')

  const unknown = await post('/v3/other.example/messages', 'from=a&to=b&text=c')
  assert.equal(unknown.status, 404)
  assert.equal((await unknown.json()).message, 'Domain not found: other.example')
})
