import { describe, expect, it } from 'vitest'
import { serviceInfoList } from './service-info'
import { catalogImages, pinBuiltImage } from './images'

describe('service info', () => {
  it('describes every service, with pinned images and known requirements', () => {
    const info = serviceInfoList()
    const ids = info.map((i) => i.id)
    expect(ids.sort()).toEqual(
      ['bitcoind', 'btcpay', 'electrs', 'lnd', 'mint', 'nbxplorer', 'postgres', 'relay'].sort(),
    )
    for (const i of info) {
      for (const r of i.requires) expect(ids).toContain(r)
      expect(i.description.length).toBeGreaterThan(20)
      const image = catalogImages[i.id as keyof typeof catalogImages]
      if (image.kind === 'registry') expect(i.image).toMatch(/^[a-z0-9./-]+@sha256:[0-9a-f]{64}$/)
      else expect(i.image).toMatch(/built on this computer/)
    }
    expect(info.find((i) => i.id === 'bitcoind')!.optional).toBe(false)
  })

  it('pins registry images by digest and built images only to a real image ID', () => {
    for (const image of Object.values(catalogImages)) {
      if (image.kind === 'registry') expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
      else expect(image.digest).toBe('built-locally')
    }
    const relay = catalogImages.relay
    if (relay.kind !== 'local-build') throw new Error('relay is built here')
    const id = `sha256:${'1'.repeat(64)}`
    expect(pinBuiltImage(relay, id)).toEqual({
      repository: 'flashbox/relay',
      tag: relay.tag,
      digest: id,
      builtHere: true,
    })
    expect(() => pinBuiltImage(relay, 'built-locally')).toThrow(
      expect.objectContaining({ code: 'stack.image_id_invalid' }),
    )
  })
})
