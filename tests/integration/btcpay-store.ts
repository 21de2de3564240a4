// A BTCPay store made through Greenfield as the box's set-up saga leaves it: an admin, a store,
// and the one store-scoped API key the box keeps. For tests that need a store but not the saga.
export interface GreenfieldStore {
  readonly storeId: string
  /** `btcpay.store.canmodifystoresettings:<storeId>` only. */
  readonly apiKey: string
}

export async function greenfield<T>(
  baseUrl: string,
  method: string,
  path: string,
  auth: string | null,
  body?: unknown,
): Promise<T> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return (await res.json()) as T
}

export async function storeWithKey(
  baseUrl: string,
  name = 'Corner Café',
): Promise<GreenfieldStore> {
  const email = 'owner@shop.test'
  const password = 'a long generated password'
  const basic = `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`
  await greenfield(baseUrl, 'POST', '/api/v1/users', null, {
    email,
    password,
    isAdministrator: true,
  })
  const setupKey = await greenfield<{ apiKey: string }>(
    baseUrl,
    'POST',
    '/api/v1/api-keys',
    basic,
    {
      label: 'setup',
      permissions: ['btcpay.store.canmodifystoresettings'],
    },
  )
  const { id: storeId } = await greenfield<{ id: string }>(
    baseUrl,
    'POST',
    '/api/v1/stores',
    `token ${setupKey.apiKey}`,
    { name, defaultCurrency: 'EUR' },
  )
  const { apiKey } = await greenfield<{ apiKey: string }>(
    baseUrl,
    'POST',
    '/api/v1/api-keys',
    basic,
    {
      label: 'Flash Box',
      permissions: [`btcpay.store.canmodifystoresettings:${storeId}`],
    },
  )
  return { storeId, apiKey }
}
