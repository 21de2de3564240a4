// The box's published URLs as saved in its settings: the one place other modules ask (the
// Lightning address, NWC, the eCash wallet's tokens, the nostr inbox list). Pure rules in
// published-urls.ts.
import type { ReachSettings } from '../../shared/reach'
import { loadSettings } from '../engine/stack-module'
import { baseUrlFor, publishedUrlsFor, type PublishedUrls } from './published-urls'

export { baseUrlFor, publishedUrlsFor, type PublishedUrls } from './published-urls'

function savedReach(engineDataDir: string): ReachSettings | undefined {
  try {
    return loadSettings(engineDataDir)?.reach
  } catch {
    return undefined // damaged settings: the stack module reports them
  }
}

/**
 * The box's public base URL (`https://shop.example.com`, no trailing slash), or undefined when the
 * owner set no public address. `engineDataDir` is EngineContext.dataDir.
 */
export function publicBaseUrl(engineDataDir: string): string | undefined {
  return baseUrlFor(savedReach(engineDataDir))?.base
}

/** Every URL the box publishes, or an empty object when it has no address beyond this computer. */
export function publishedUrls(engineDataDir: string): Partial<PublishedUrls> {
  return publishedUrlsFor(savedReach(engineDataDir)) ?? {}
}

/**
 * Where the front door connects from, for the relay's and the mint's trusted proxies: the front
 * door runs on this computer's network and dials 127.0.0.1. Empty when there is no front door
 * (then a forwarded address is never believed).
 */
export function frontDoorProxyAddresses(engineDataDir: string): string[] {
  const r = savedReach(engineDataDir)
  return r && (r.publicAddress || r.tor) ? ['127.0.0.1', '::1'] : []
}
