// SIMULATOR — test-only. Greenfield "Apps", the point of sale (swagger.template.apps.json):
// create, get, update, list, delete; the PoS page itself is public at /apps/{appId}/pos (the
// simulator's page is bare: title, currency, and a form that creates an invoice per sale).
import {
  invalid,
  objectBody,
  ok,
  problem,
  str,
  type Call,
  type Greenfield,
  type GreenfieldRoute,
} from './greenfield'
import { Policies } from './permissions'
import { storeOf } from './stores'

export interface PosApp {
  readonly id: string
  readonly storeId: string
  appName: string
  title: string
  description: string | null
  currency: string | null
  defaultView: 'Static' | 'Cart' | 'Light' | 'Print'
  showCustomAmount: boolean
  archived: boolean
  readonly created: number
}

export const appsOf = (sim: Greenfield) => sim.area('apps', () => new Map<string, PosApp>())

function appOf(c: Call): PosApp {
  const a = appsOf(c.sim).get(c.params.appId!)
  if (!a) throw problem(404, 'app-not-found', 'The app was not found')
  return a
}

const baseData = (a: PosApp) => ({
  id: a.id,
  appName: a.appName,
  storeId: a.storeId,
  created: a.created,
  appType: 'PointOfSale',
  archived: a.archived,
})

const posData = (a: PosApp) => ({
  ...baseData(a),
  title: a.title,
  description: a.description,
  defaultView: a.defaultView,
  showCustomAmount: a.showCustomAmount,
  currency: a.currency,
  items: [],
})

function apply(a: PosApp, b: Record<string, unknown>): void {
  const name = str(b, 'appName')
  if (name !== null) {
    if (name.trim() === '') throw invalid('appName', 'App name is required')
    a.appName = name
  }
  const title = str(b, 'title')
  if (title !== null) a.title = title
  const description = str(b, 'description')
  if (description !== null) a.description = description
  const currency = str(b, 'currency')
  if (currency !== null) a.currency = currency.toUpperCase()
  const view = str(b, 'defaultView')
  if (view !== null) {
    if (!['Static', 'Cart', 'Light', 'Print'].includes(view))
      throw invalid('defaultView', 'Invalid view')
    a.defaultView = view as PosApp['defaultView']
  }
  if (typeof b.showCustomAmount === 'boolean') a.showCustomAmount = b.showCustomAmount
}

export function routes(): GreenfieldRoute[] {
  const byApp = {
    kind: 'policy' as const,
    anyOf: [Policies.canModifyStoreSettings],
    store: (c: Call) => appsOf(c.sim).get(c.params.appId!)?.storeId ?? null,
    notFound: { code: 'app-not-found', message: 'The app was not found' },
  }
  return [
    {
      method: 'POST',
      path: '/api/v1/stores/{storeId}/apps/pos',
      auth: { kind: 'policy', anyOf: [Policies.canModifyStoreSettings] },
      handle: (c) => {
        const store = storeOf(c.sim, c.params.storeId!)
        const b = objectBody(c)
        if (str(b, 'appName') === null) throw invalid('appName', 'App name is required')
        const a: PosApp = {
          id: c.sim.id(16),
          storeId: store.id,
          appName: '',
          title: '',
          description: null,
          currency: null,
          defaultView: 'Light',
          showCustomAmount: true,
          archived: false,
          created: c.sim.now(),
        }
        apply(a, b)
        if (!a.title) a.title = a.appName
        appsOf(c.sim).set(a.id, a)
        return ok(posData(a))
      },
    },
    {
      method: 'GET',
      path: '/api/v1/apps/pos/{appId}',
      auth: { kind: 'none' },
      handle: (c) => ok(posData(appOf(c))),
    },
    {
      method: 'PUT',
      path: '/api/v1/apps/pos/{appId}',
      auth: byApp,
      handle: (c) => {
        const a = appOf(c)
        apply(a, objectBody(c))
        return ok(posData(a))
      },
    },
    {
      method: 'GET',
      path: '/api/v1/apps/{appId}',
      auth: byApp,
      handle: (c) => ok(baseData(appOf(c))),
    },
    {
      method: 'DELETE',
      path: '/api/v1/apps/{appId}',
      auth: byApp,
      handle: (c) => {
        appsOf(c.sim).delete(appOf(c).id)
        return ok(undefined)
      },
    },
    {
      method: 'GET',
      path: '/api/v1/stores/{storeId}/apps',
      auth: { kind: 'policy', anyOf: [Policies.canModifyStoreSettings] },
      handle: (c) =>
        ok([...appsOf(c.sim).values()].filter((a) => a.storeId === c.params.storeId).map(baseData)),
    },
    {
      method: 'GET',
      path: '/apps/{appId}/pos',
      auth: { kind: 'none' },
      handle: (c) => {
        const a = appOf(c)
        const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`)
        return {
          status: 200,
          html: `<!doctype html><title>${esc(a.title)}</title><h1>${esc(a.title)}</h1><p>${esc(a.currency ?? '')}</p>`,
        }
      },
    },
  ]
}
