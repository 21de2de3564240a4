import { describe, expect, it } from 'vitest'
import { renderIni, renderLndIni, renderToml } from './conf-format'

describe('config writers', () => {
  it('writes sections and key=value lines', () => {
    expect(
      renderIni('# h', [
        { entries: [['server', true]] },
        { name: 'main', entries: [['rpcport', 8332]] },
      ]),
    ).toBe('# h\n\nserver=1\n\n[main]\nrpcport=8332\n')
    expect(renderLndIni('; h', [{ name: 'Bitcoin', entries: [['bitcoin.signet', true]] }])).toBe(
      '; h\n\n[Bitcoin]\nbitcoin.signet=true\n',
    )
  })

  it('refuses values that would smuggle in another option', () => {
    expect(() => renderIni('#', [{ entries: [['rpcauth', 'a\nrpcpassword=x']] }])).toThrow()
    expect(() => renderIni('#', [{ entries: [['bad key', 1]] }])).toThrow()
    expect(() => renderToml('#', [['auth', 'a\r\nnetwork = "bitcoin"']])).toThrow()
  })

  it('quotes TOML strings so quotes and backslashes stay inside', () => {
    expect(renderToml('#', [['server_banner', 'say "hi" \\o/']])).toBe(
      '#\nserver_banner = "say \\"hi\\" \\\\o/"\n',
    )
  })
})
