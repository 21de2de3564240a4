import { describe, expect, it } from 'vitest'
import { silentLogger } from '../log'
import { startWebhookReceiver } from './btcpay-webhook'
import { inSubnet } from './webhook-route'

describe('the webhook route on the stack network', () => {
  it('tells addresses inside the stack subnet from the rest', () => {
    expect(inSubnet('172.18.0.5', '172.18.0.0/16')).toBe(true)
    expect(inSubnet('::ffff:172.18.255.254', '172.18.0.0/16')).toBe(true)
    expect(inSubnet('172.19.0.5', '172.18.0.0/16')).toBe(false)
    expect(inSubnet('127.0.0.1', '172.18.0.0/16')).toBe(false)
    expect(inSubnet('192.168.1.7', '192.168.1.0/28')).toBe(true)
    expect(inSubnet('192.168.1.17', '192.168.1.0/28')).toBe(false)
    expect(inSubnet('fe80::1', '172.18.0.0/16')).toBe(false)
    expect(inSubnet(undefined, '172.18.0.0/16')).toBe(false)
    expect(inSubnet('172.18.0.5', 'nonsense')).toBe(false)
  })

  it('answers nothing but 403 to a connection from outside, before reading a signature', async () => {
    const refused: string[] = []
    const r = await startWebhookReceiver({
      host: '127.0.0.1',
      port: 0,
      secret: () => 's3cret',
      onEvent: async () => {
        throw new Error('must not be called')
      },
      onRefused: (why) => refused.push(why),
      log: silentLogger,
      allowFrom: (a) => inSubnet(a, '10.0.0.0/8'),
    })
    try {
      const res = await fetch(r.url, { method: 'POST', body: '{}' })
      expect(res.status).toBe(403)
      expect(refused).toEqual(['not from the stack network'])
    } finally {
      await r.close()
    }
  })
})
