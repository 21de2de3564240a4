// NIP-29 relay-based groups enforced by the relay: a shop's staff room.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyEvent } from 'nostr-tools/pure'
import { newKey, now, RawClient, sign, tempRelay, type Key, type TestRelay } from './relay-harness'

let relay: TestRelay
let owner: Key
let c: RawClient
const g = 'staff'

beforeAll(async () => {
  owner = newKey()
  relay = await tempRelay({ adminPubkeys: [owner.pk] })
  c = await RawClient.open(relay.url)
})
afterAll(async () => {
  c?.close()
  await relay?.stop()
})

const metadata = async (kind: number) => {
  const got = await c.query({ kinds: [kind], '#d': [g] })
  expect(got.length).toBe(1)
  expect(got[0]!.pubkey).toBe(relay.relay.key.pubkey)
  expect(verifyEvent(got[0]!)).toBe(true)
  return got[0]!
}

describe('NIP-29 groups', () => {
  const alice = newKey()
  const bob = newKey()
  const stranger = newKey()

  it('only the box admin creates groups; the relay signs 39000–39003', async () => {
    expect(await c.publish(sign(stranger, { kind: 9007, tags: [['h', g]] }))).toEqual([
      false,
      expect.stringMatching(/^restricted: /),
    ])
    const create = sign(owner, {
      kind: 9007,
      tags: [['h', g], ['name', 'Staff room'], ['private'], ['closed']],
    })
    expect(await c.publish(create)).toEqual([true, ''])
    const meta = await metadata(39000)
    expect(meta.tags).toEqual(
      expect.arrayContaining([['d', g], ['name', 'Staff room'], ['private'], ['closed']]),
    )
    expect((await metadata(39001)).tags).toContainEqual(['p', owner.pk, 'admin'])
    expect((await metadata(39002)).tags).toContainEqual(['p', owner.pk])
    expect((await metadata(39003)).tags.some((t) => t[0] === 'role')).toBe(true)
    expect((await c.publish(sign(owner, { kind: 9007, tags: [['h', g]] })))[1]).toMatch(
      /^duplicate: /,
    )
    // Nobody else may write group metadata.
    expect((await c.publish(sign(stranger, { kind: 39000, tags: [['d', g]] })))[1]).toMatch(
      /^restricted: /,
    )
  })

  it('only members post; closed groups refuse join requests without an invite', async () => {
    expect((await c.publish(sign(alice, { kind: 9, tags: [['h', g]], content: 'hi' })))[1]).toMatch(
      /^restricted: /,
    )
    expect((await c.publish(sign(alice, { kind: 9021, tags: [['h', g]] })))[1]).toMatch(
      /^restricted: /,
    )
    expect((await c.publish(sign(alice, { kind: 9, tags: [['h', 'nosuchgroup']] })))[1]).toMatch(
      /^restricted: /,
    )
    expect(
      (
        await c.publish(
          sign(alice, {
            kind: 9000,
            tags: [
              ['h', g],
              ['p', alice.pk],
            ],
          }),
        )
      )[1],
    ).toMatch(/^restricted: /)
    // The admin adds alice as a moderator.
    expect(
      await c.publish(
        sign(owner, {
          kind: 9000,
          tags: [
            ['h', g],
            ['p', alice.pk, 'moderator'],
          ],
        }),
      ),
    ).toEqual([true, ''])
    expect((await metadata(39002)).tags).toContainEqual(['p', alice.pk])
    expect((await metadata(39001)).tags).toContainEqual(['p', alice.pk, 'moderator'])
    expect(await c.publish(sign(alice, { kind: 9, tags: [['h', g]], content: 'hi' }))).toEqual([
      true,
      '',
    ])
    expect((await c.publish(sign(alice, { kind: 9021, tags: [['h', g]] })))[1]).toMatch(
      /^duplicate: /,
    )
    // Invite codes let bob in.
    expect(
      (
        await c.publish(
          sign(owner, {
            kind: 9009,
            tags: [
              ['h', g],
              ['code', 'WELCOME'],
            ],
          }),
        )
      )[0],
    ).toBe(true)
    expect(
      (
        await c.publish(
          sign(bob, {
            kind: 9021,
            tags: [
              ['h', g],
              ['code', 'WRONG'],
            ],
          }),
        )
      )[1],
    ).toMatch(/^restricted: /)
    expect(
      await c.publish(
        sign(bob, {
          kind: 9021,
          tags: [
            ['h', g],
            ['code', 'WELCOME'],
          ],
        }),
      ),
    ).toEqual([true, ''])
    expect(await c.publish(sign(bob, { kind: 9, tags: [['h', g]], content: 'hello' }))).toEqual([
      true,
      '',
    ])
    // No late publication: a back-dated message is refused.
    const backdated = sign(bob, {
      kind: 9,
      tags: [['h', g]],
      content: 'old',
      created_at: now() - 7200,
    })
    expect((await c.publish(backdated))[1]).toMatch(/^invalid: too late/)
  })

  it('private groups are readable only by authenticated members', async () => {
    const anon = await RawClient.open(relay.url)
    expect(await anon.query({ kinds: [9], '#h': [g] })).toEqual([])
    await anon.auth(stranger, relay.url)
    expect(await anon.query({ kinds: [9], '#h': [g] })).toEqual([])
    await anon.auth(bob, relay.url)
    expect((await anon.query({ kinds: [9], '#h': [g] })).length).toBe(2)
    anon.close()
  })

  it('moderators delete messages and remove users, but cannot edit metadata', async () => {
    const msg = sign(bob, { kind: 9, tags: [['h', g]], content: 'oops' })
    await c.publish(msg)
    expect(
      (
        await c.publish(
          sign(alice, {
            kind: 9002,
            tags: [
              ['h', g],
              ['name', 'Hacked'],
            ],
          }),
        )
      )[1],
    ).toMatch(/^restricted: /)
    expect(
      await c.publish(
        sign(alice, {
          kind: 9005,
          tags: [
            ['h', g],
            ['e', msg.id],
          ],
        }),
      ),
    ).toEqual([true, ''])
    expect(relay.relay.store.has(msg.id)).toBe(false)
    expect(
      await c.publish(
        sign(alice, {
          kind: 9001,
          tags: [
            ['h', g],
            ['p', bob.pk],
          ],
        }),
      ),
    ).toEqual([true, ''])
    expect((await metadata(39002)).tags).not.toContainEqual(['p', bob.pk])
    expect(
      (await c.publish(sign(bob, { kind: 9, tags: [['h', g]], content: 'still here?' })))[1],
    ).toMatch(/^restricted: /)
  })

  it('leave requests remove the member with a relay-signed 9001; admins edit metadata', async () => {
    expect(await c.publish(sign(alice, { kind: 9022, tags: [['h', g]] }))).toEqual([true, ''])
    // The group is private: its events (h tag) are for members; the box admin sees everything.
    expect(await c.query({ kinds: [9001], '#p': [alice.pk] })).toEqual([])
    await c.auth(owner, relay.url)
    const removal = await c.query({
      kinds: [9001],
      authors: [relay.relay.key.pubkey],
      '#p': [alice.pk],
    })
    expect(removal.length).toBe(1)
    expect((await metadata(39002)).tags).not.toContainEqual(['p', alice.pk])
    expect(
      await c.publish(
        sign(owner, {
          kind: 9002,
          tags: [
            ['h', g],
            ['name', 'Team'],
            ['about', 'Shop staff'],
          ],
        }),
      ),
    ).toEqual([true, ''])
    const meta = await metadata(39000)
    expect(meta.tags).toContainEqual(['name', 'Team'])
    // edit-metadata carries the full state: private/closed were not repeated, so now public and open.
    expect(meta.tags).toContainEqual(['public'])
    expect(meta.tags).toContainEqual(['open'])
  })

  it('refuses a message whose previous tags name events the relay never saw in the group', async () => {
    // The owner (admin) posts; the reference to it is honoured.
    const first = sign(owner, { kind: 9, tags: [['h', g]], content: 'opening at 9' })
    expect(await c.publish(first)).toEqual([true, ''])
    const reply = sign(owner, {
      kind: 9,
      tags: [
        ['h', g],
        ['previous', first.id.slice(0, 8)],
      ],
      content: 'and closing at 5',
    })
    expect(await c.publish(reply)).toEqual([true, ''])
    // An id this relay never saw: refused, and not stored.
    const ghost = sign(owner, {
      kind: 9,
      tags: [
        ['h', g],
        ['previous', first.id.slice(0, 8), 'deadbeef'],
      ],
      content: 'forked timeline',
    })
    const refused = await c.publish(ghost)
    expect(refused[0]).toBe(false)
    expect(refused[1]).toMatch(/^invalid: previous names an event this relay has not seen/)
    expect(relay.relay.store.has(ghost.id)).toBe(false)
    // An event the relay has, but not in this group, does not count either.
    const elsewhere = sign(owner, { kind: 1, content: 'not in the group' })
    expect(await c.publish(elsewhere)).toEqual([true, ''])
    const crossed = sign(owner, {
      kind: 9,
      tags: [
        ['h', g],
        ['previous', elsewhere.id.slice(0, 8)],
      ],
      content: 'points outside',
    })
    expect((await c.publish(crossed))[1]).toMatch(/^invalid: previous names an event/)
  })
})
