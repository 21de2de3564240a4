import { cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { ReachStatus } from '../../../shared/api/reach'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import { ReachSection } from './ReachSection'

afterEach(cleanup)

const none: ReachStatus = {
  settings: { frontDoorPort: 8480, enginePort: 8347 },
  interfaces: [{ name: 'eth0', addresses: ['192.168.1.20'] }],
  onions: [],
  pairing: [
    {
      id: 'mint',
      title: 'Cashu mint',
      apps: 'cashu.me, Minibits',
      path: 'This computer only',
      sameWifi: false,
      unavailable: 'Choose a public address, LAN mode or Tor above, then start the stack again.',
    },
  ],
}
const published: ReachStatus = {
  ...none,
  settings: {
    ...none.settings!,
    publicAddress: { baseUrl: 'https://shop.example.com', tlsBeforeBox: false, proxyAddresses: [] },
  },
  published: {
    base: 'https://shop.example.com',
    source: 'public',
    mint: 'https://shop.example.com',
    relay: 'wss://shop.example.com',
    nip05Domain: 'shop.example.com',
    btcpay: 'https://shop.example.com/btcpay',
  },
  pairing: [
    {
      id: 'mint',
      title: 'Cashu mint',
      apps: 'cashu.me, Minibits',
      text: 'https://shop.example.com',
      qr: 'data:image/svg+xml;base64,PHN2Zy8+',
      path: 'Internet (your public address)',
      sameWifi: false,
    },
  ],
}

describe('Settings → Reachability', () => {
  it('saves a public address, then shows the pairing code with its path and checks the address', async () => {
    const fake = new FakeTransportForTests({
      'reach.status': () => none,
      'reach.save': () => published,
      'reach.checkAddress': () => ({
        ok: false,
        problem: {
          code: 'reach.address_not_this_box',
          message: 'https://shop.example.com answers, but it is not this Flash Box.',
          hint: 'Point the domain at this computer, then check again.',
        },
      }),
    })
    setTransport(fake)
    render(<ReachSection />)
    await screen.findByText('Right now only this computer reaches the box’s services.')
    fireEvent.change(screen.getByLabelText('Public address'), {
      target: { value: 'https://shop.example.com' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Save reachability' }))
    await screen.findByText('Saved.')
    expect(fake.callsTo('reach.save')[0]).toMatchObject({
      publicAddress: { baseUrl: 'https://shop.example.com', tlsBeforeBox: false },
    })
    const card = screen.getByRole('listitem', { name: 'Cashu mint' })
    expect(within(card).getByText('Network path: Internet (your public address)')).toBeTruthy()
    expect(
      within(card).getByText('The phone does not need to be on the shop’s Wi-Fi.'),
    ).toBeTruthy()
    expect(within(card).getByRole('img', { name: 'QR code: Cashu mint' })).toBeTruthy()

    fireEvent.click(screen.getByRole('button', { name: 'Check that the address leads here' }))
    await screen.findByText('https://shop.example.com answers, but it is not this Flash Box.')
  })

  it('LAN mode: picks the interface, then shows the certificate page QR, its fingerprint and a pairing code', async () => {
    const lanStatus: ReachStatus = {
      ...none,
      settings: {
        ...none.settings!,
        lan: { interface: 'eth0', name: 'shop', port: 443, ownerPort: 8443, caPort: 8090 },
      },
      lan: {
        host: 'shop.local',
        address: '192.168.1.20',
        url: 'https://shop.local',
        ownerUrl: 'https://shop.local:8443',
        caPageUrl: 'http://192.168.1.20:8090/',
        caPageQr: 'data:image/svg+xml;base64,PHN2Zy8+',
        caFingerprint: 'AB:CD:EF',
        announced: true,
        pairedDevices: 0,
      },
    }
    const fake = new FakeTransportForTests({
      'reach.status': () => none,
      'reach.save': () => lanStatus,
      'reach.newPairingCode': () => ({ code: '7KQ2-M9XD', expiresAt: Date.now() + 600_000 }),
    })
    setTransport(fake)
    render(<ReachSection />)
    await screen.findByText('Right now only this computer reaches the box’s services.')
    fireEvent.click(screen.getByLabelText('Serve the shop’s network'))
    const picker = screen.getByLabelText('Network connection') as HTMLSelectElement
    expect([...picker.options].map((o) => o.textContent)).toEqual(['eth0 — 192.168.1.20'])
    fireEvent.change(screen.getByLabelText('Name on the network (.local)'), {
      target: { value: 'Shop' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Save reachability' }))
    await screen.findByText('Saved.')
    expect(fake.callsTo('reach.save')[0]).toMatchObject({
      lan: { interface: 'eth0', name: 'shop', port: 443, ownerPort: 8443, caPort: 8090 },
    })
    expect(screen.getByRole('img', { name: 'QR code: certificate install page' })).toBeTruthy()
    expect(screen.getByText('AB:CD:EF')).toBeTruthy()
    expect(screen.getByRole('link', { name: 'http://192.168.1.20:8090/' })).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'New pairing code' }))
    await screen.findByText('7KQ2-M9XD')
  })

  it('shows Tor’s progress, asks again while it connects, and says plainly when Tor is offline', async () => {
    const mintOverTor = {
      id: 'mint' as const,
      title: 'Cashu mint',
      apps: 'cashu.me, Minibits',
      text: 'http://mintabc.onion',
      path: 'Tor (an app with Tor turned on; works from anywhere)',
      sameWifi: false,
      overTor: true as const,
    }
    const withTor = (tor: ReachStatus['tor']): ReachStatus => ({
      ...none,
      settings: { ...none.settings!, tor: { lndP2p: false, lndRest: false } },
      onions: [{ name: 'mint', hostname: 'mintabc.onion', purpose: 'Cashu mint' }],
      pairing: [mintOverTor],
      ...(tor ? { tor } : {}),
    })
    const answers: ReachStatus[] = [
      withTor({
        state: 'connecting',
        percent: 45,
        words: 'Tor: connecting 45% (loading relay descriptors)',
      }),
      withTor({
        state: 'offline',
        percent: 45,
        words: 'Tor: connecting 45% (loading relay descriptors)',
        problem: {
          code: 'tor.offline',
          message:
            'Tor cannot reach the Tor network (stuck at 45% after 2 minutes), so your onion addresses do not work yet.',
          hint: 'Check that this computer is online and that no firewall blocks outgoing connections. The onion addresses stay the same; they start working once Tor connects.',
        },
      }),
    ]
    const fake = new FakeTransportForTests({
      'reach.status': () => answers.shift() ?? answers[0]!,
    })
    setTransport(fake)
    render(<ReachSection />)
    const progress = await screen.findByLabelText('Tor progress')
    expect(
      within(progress).getByText('Tor: connecting 45% (loading relay descriptors)'),
    ).toBeTruthy()
    const card = screen.getByRole('listitem', { name: 'Cashu mint' })
    expect(within(card).getByText('Tor: connecting 45% (loading relay descriptors)')).toBeTruthy()
    // While it connects the page asks again (every 4 s): the next answer is tor.offline.
    const alert = await screen.findByRole('alert', {}, { timeout: 8_000 })
    expect(alert.textContent).toContain('Tor cannot reach the Tor network (stuck at 45%')
    expect(alert.textContent).toContain('Check that this computer is online')
    expect(
      within(screen.getByRole('listitem', { name: 'Cashu mint' })).getByText(
        'Tor: cannot reach the Tor network yet (see above).',
      ),
    ).toBeTruthy()
    expect(fake.callsTo('reach.status').length).toBe(2)
  }, 15_000)

  it('says why there is no NIP-05 or Lightning address on a port other than 443, and what the front door lacks', async () => {
    const onPort: ReachStatus = {
      ...none,
      published: {
        base: 'https://shop.local:8443',
        source: 'lan',
        mint: 'https://shop.local:8443',
        relay: 'wss://shop.local:8443',
        btcpay: 'https://shop.local:8443/btcpay',
        namesProblem: {
          code: 'reach.names_need_standard_port',
          message:
            'Nostr addresses (NIP-05) and the Lightning address look like name@shop.local, and wallets and Nostr apps look them up on port 443 only, while this box is reached on port 8443.',
          hint: 'To offer them on the shop’s Wi-Fi, set the shop port to 443 under Settings → Reachability.',
        },
      },
      frontDoorProblem: {
        code: 'stack.port_taken',
        message:
          'Port 8443 (the shop’s devices on the LAN, for Front door (Caddy)) is already used by another program, so Front door (Caddy) cannot start.',
        hint: 'Close the program that uses port 8443, then start again.',
      },
    }
    const engineTaken: ReachStatus = {
      ...onPort,
      engineServerProblem: {
        code: 'reach.engine_port_taken',
        message:
          'Another program already uses port 8347 on this computer (perhaps “npm run serve”).',
        hint: 'Close the program that uses port 8347; Flash Box tries again within a minute.',
      },
    }
    const answers = [onPort, engineTaken]
    const fake = new FakeTransportForTests({ 'reach.status': () => answers.shift() ?? engineTaken })
    setTransport(fake)
    render(<ReachSection />)
    const names = await screen.findByRole('status', { name: 'No Nostr addresses here' })
    expect(names.textContent).toContain('look them up on port 443 only')
    expect(within(names).getByRole('link', { name: 'Settings → Reachability' })).toBeTruthy()
    expect(screen.queryByText(/end in/)).toBeNull()
    expect(screen.getByRole('alert').textContent).toMatch(
      /^The front door is not running\. Port 8443 \(the shop’s devices on the LAN/,
    )
    // The engine's server loses its port while the page is open: shown without a reload.
    fake.emit({
      topic: 'reach',
      type: 'engine-server',
      problem: engineTaken.engineServerProblem!,
    })
    await screen.findByText(
      'Another program already uses port 8347 on this computer (perhaps “npm run serve”).',
    )
    expect(screen.getByText('The front door cannot reach Flash Box.')).toBeTruthy()
  })

  it('shows the domain of NIP-05 names and the Lightning address on port 443', async () => {
    setTransport(
      new FakeTransportForTests({
        'reach.status': () => ({
          ...published,
          published: { ...published.published!, nip05Domain: 'shop.example.com' },
        }),
      }),
    )
    render(<ReachSection />)
    await screen.findByText('@shop.example.com')
    expect(screen.queryByRole('status', { name: 'No Nostr addresses here' })).toBeNull()
  })
})
