import { describe, expect, it } from 'vitest'
import { isPubliclyReachableRelay } from './relay-reachability'

describe('isPubliclyReachableRelay', () => {
  it.each([
    'ws://127.0.0.1:7777',
    'ws://127.1.2.3',
    'ws://localhost:7777',
    'ws://shop.localhost',
    'ws://[::1]:7777',
    'ws://0.0.0.0:7777',
    'ws://10.0.0.5',
    'ws://172.17.0.2:7777',
    'ws://192.168.1.20:7777',
    'ws://169.254.1.1',
    'ws://100.64.0.1',
    'ws://[fd00::1]',
    'ws://[fe80::1]',
    'ws://[::ffff:127.0.0.1]',
    'ws://relay:7777',
    'ws://flashbox.local',
    'not a url',
  ])('%s is not announced', (url) => expect(isPubliclyReachableRelay(url)).toBe(false))

  it.each([
    'wss://relay.damus.io',
    'wss://nos.lol/',
    'ws://93.184.215.14:7777',
    'wss://[2a01:4f8::1]',
    'wss://172.32.0.1',
  ])('%s is announced', (url) => expect(isPubliclyReachableRelay(url)).toBe(true))
})
