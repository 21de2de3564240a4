// SIMULATOR — test-only. Greenfield "Stores" (swagger.template.stores.json). The creator becomes
// the store's Owner; listing shows the stores the user (and key) may view.
import {
  decimal,
  invalid,
  objectBody,
  ok,
  problem,
  str,
  type Call,
  type Greenfield,
  type GreenfieldRoute,
} from './greenfield'
import { Policies, storesVisible } from './permissions'

export interface StoreRecord {
  readonly id: string
  name: string
  website: string | null
  defaultCurrency: string
  speedPolicy: string
  invoiceExpiration: number
  monitoringExpiration: number
  paymentTolerance: number
  archived: boolean
}

export const storesOf = (sim: Greenfield) =>
  sim.area('stores', () => new Map<string, StoreRecord>())

export function storeOf(sim: Greenfield, id: string): StoreRecord {
  const s = storesOf(sim).get(id)
  if (!s) throw problem(404, 'store-not-found', 'The store was not found')
  return s
}

const CURRENCY = /^[A-Z]{3,4}$/

function apply(s: StoreRecord, b: Record<string, unknown>): void {
  const name = str(b, 'name')
  if (name !== null) {
    if (name.trim() === '') throw invalid('name', 'name should not be empty')
    if (name.length > 50) throw invalid('name', 'name can only be 50 characters long')
    s.name = name
  }
  const currency = str(b, 'defaultCurrency')
  if (currency !== null) {
    if (!CURRENCY.test(currency.toUpperCase())) throw invalid('defaultCurrency', 'Invalid currency')
    s.defaultCurrency = currency.toUpperCase()
  }
  const website = str(b, 'website')
  if (website !== null) s.website = website
  const speed = str(b, 'speedPolicy')
  if (speed !== null) {
    if (!['HighSpeed', 'MediumSpeed', 'LowSpeed', 'LowMediumSpeed'].includes(speed))
      throw invalid('speedPolicy', 'Invalid speed policy')
    s.speedPolicy = speed
  }
  const exp = decimal(b, 'invoiceExpiration')
  if (exp !== null) {
    if (exp < 60 || exp > 2_000_000) throw invalid('invoiceExpiration', 'Out of range')
    s.invoiceExpiration = exp
  }
  const tol = decimal(b, 'paymentTolerance')
  if (tol !== null) s.paymentTolerance = tol
}

export function storeData(s: StoreRecord) {
  return {
    id: s.id,
    name: s.name,
    website: s.website,
    defaultCurrency: s.defaultCurrency,
    speedPolicy: s.speedPolicy,
    invoiceExpiration: s.invoiceExpiration,
    monitoringExpiration: s.monitoringExpiration,
    paymentTolerance: s.paymentTolerance,
    archived: s.archived,
    anyoneCanCreateInvoice: false,
    lightningAmountInSatoshi: false,
    lazyPaymentMethods: false,
    defaultPaymentMethod: null,
  }
}

function create(c: Call) {
  const b = objectBody(c)
  if (str(b, 'name') === null) throw invalid('name', 'name is missing')
  const s: StoreRecord = {
    id: c.sim.id(32),
    name: '',
    website: null,
    defaultCurrency: 'USD',
    speedPolicy: 'MediumSpeed',
    invoiceExpiration: 900,
    monitoringExpiration: 86400,
    paymentTolerance: 0,
    archived: false,
  }
  apply(s, b)
  storesOf(c.sim).set(s.id, s)
  c.sim.storeUsers.set(s.id, new Set([c.who!.userId]))
  c.sim.log(`BTCPAY SIMULATOR store "${s.name}" created`)
  return ok(storeData(s))
}

export function routes(): GreenfieldRoute[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/stores',
      auth: { kind: 'user' },
      handle: (c) => {
        const visible = storesVisible(c.who!, Policies.canViewStoreSettings, storesOf(c.sim).keys())
        return ok(visible.map((id) => storeData(storesOf(c.sim).get(id)!)))
      },
    },
    {
      method: 'POST',
      path: '/api/v1/stores',
      // No store yet: needs the unscoped policy.
      auth: { kind: 'policy', anyOf: [Policies.canModifyStoreSettings] },
      handle: create,
    },
    {
      method: 'GET',
      path: '/api/v1/stores/{storeId}',
      auth: { kind: 'policy', anyOf: [Policies.canViewStoreSettings] },
      handle: (c) => ok(storeData(storeOf(c.sim, c.params.storeId!))),
    },
    {
      method: 'PUT',
      path: '/api/v1/stores/{storeId}',
      auth: { kind: 'policy', anyOf: [Policies.canModifyStoreSettings] },
      handle: (c) => {
        const s = storeOf(c.sim, c.params.storeId!)
        apply(s, objectBody(c))
        return ok(storeData(s))
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/stores/{storeId}',
      auth: { kind: 'policy', anyOf: [Policies.canModifyStoreSettings] },
      handle: (c) => {
        storesOf(c.sim).delete(c.params.storeId!)
        c.sim.storeUsers.delete(c.params.storeId!)
        return ok(undefined)
      },
    },
  ]
}
