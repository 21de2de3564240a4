// electrs' Prometheus endpoint (the monitoring port: 4224 on mainnet, 14224 testnet, 34224
// signet, 24224 regtest). electrs (v0.10, and v0.11.1 that the stack pins) exports
// `electrs_index_height{type="tip"}`, the height it has indexed (src/index.rs); it is served even
// while the Electrum port answers nothing, so the dashboard reads indexing progress from here.
import { FlashError } from '../errors'

const INDEX_HEIGHT = /^electrs_index_height\{[^}]*type="tip"[^}]*\}\s+([0-9.eE+-]+)/m

/** Parses Prometheus text; undefined until electrs has indexed its first block. */
export function parseElectrsIndexHeight(metricsText: string): number | undefined {
  const m = INDEX_HEIGHT.exec(metricsText)
  if (!m) return undefined
  const v = Number(m[1])
  return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined
}

export async function fetchElectrsIndexHeight(
  metricsUrl: string,
  opts: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<number | undefined> {
  const timeoutMs = opts.timeoutMs ?? 5_000
  let res: Response
  try {
    res = await (opts.fetch ?? fetch)(metricsUrl, { signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    throw new FlashError(
      'electrs.metrics-unreachable',
      'Flash Box cannot read the indexing progress of the Electrum server (electrs).',
      'electrs may not be running yet. Start the stack; if it is running, open the electrs logs.',
      { cause: err },
    )
  }
  if (!res.ok) {
    await res.body?.cancel()
    throw new FlashError(
      'electrs.metrics-unreachable',
      `electrs' monitoring port answered with HTTP ${res.status}.`,
      'Something other than electrs may be using its monitoring port. Check the stack settings.',
    )
  }
  return parseElectrsIndexHeight(await res.text())
}
