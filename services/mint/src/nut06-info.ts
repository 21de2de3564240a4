// NUT-06 mint info: what this mint supports, with each NUT's settings.
// https://github.com/cashubtc/nuts/blob/main/06.md
import type { Mint } from './mint'
import { CACHED_ENDPOINTS } from './nut19-cache'

export const MINT_VERSION = 'FlashBox/0.1.0'

export function mintInfo(mint: Mint) {
  const c = mint.config
  const unit = c.unit
  return {
    name: c.name,
    version: MINT_VERSION,
    description: c.description,
    ...(c.motd ? { motd: c.motd } : {}),
    time: Math.floor(Date.now() / 1000),
    nuts: {
      '4': {
        methods: [
          {
            method: 'bolt11',
            unit,
            min_amount: c.mintMinAmount,
            max_amount: c.mintMaxAmount,
            options: { description: mint.backend.supportsDescription },
          },
        ],
        disabled: c.mintingDisabled,
      },
      '5': {
        methods: [
          {
            method: 'bolt11',
            unit,
            min_amount: c.meltMinAmount,
            max_amount: c.meltMaxAmount,
            options: { amountless: false },
          },
        ],
        disabled: c.meltingDisabled,
      },
      '7': { supported: true },
      '8': { supported: true },
      '9': { supported: true },
      '10': { supported: true },
      '11': { supported: true },
      '12': { supported: true },
      '14': { supported: true },
      '17': {
        supported: [
          {
            method: 'bolt11',
            unit,
            commands: ['bolt11_mint_quote', 'bolt11_melt_quote', 'proof_state'],
          },
        ],
      },
      '19': { ttl: c.cacheTtlSeconds, cached_endpoints: CACHED_ENDPOINTS },
      '20': { supported: true },
    },
  }
}
