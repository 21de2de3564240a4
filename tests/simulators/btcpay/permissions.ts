// SIMULATOR — test-only. Greenfield API key permissions as BTCPay documents them: the policy list of
// the swagger's API_Key security scheme, `policy:storeId` scoping of store policies, and which
// policy includes which (BTCPay's PolicyDefinition list, BTCPayServerServices.cs). A key only limits
// its user: server policies need an administrator, store policies a store the user belongs to.

export const Policies = {
  unrestricted: 'unrestricted',
  canModifyServerSettings: 'btcpay.server.canmodifyserversettings',
  canUseInternalLightningNode: 'btcpay.server.canuseinternallightningnode',
  canCreateLightningInvoiceInternalNode: 'btcpay.server.cancreatelightninginvoiceinternalnode',
  canViewLightningInvoiceInternalNode: 'btcpay.server.canviewlightninginvoiceinternalnode',
  canManageUsers: 'btcpay.server.canmanageusers',
  canCreateUser: 'btcpay.server.cancreateuser',
  canViewUsers: 'btcpay.server.canviewusers',
  canViewProfile: 'btcpay.user.canviewprofile',
  canModifyProfile: 'btcpay.user.canmodifyprofile',
  canDeleteUser: 'btcpay.user.candeleteuser',
  canModifyStoreSettings: 'btcpay.store.canmodifystoresettings',
  canViewStoreSettings: 'btcpay.store.canviewstoresettings',
  canViewInvoices: 'btcpay.store.canviewinvoices',
  canCreateInvoice: 'btcpay.store.cancreateinvoice',
  canModifyInvoices: 'btcpay.store.canmodifyinvoices',
  canModifyWebhooks: 'btcpay.store.webhooks.canmodifywebhooks',
  canModifyPaymentRequests: 'btcpay.store.canmodifypaymentrequests',
  canViewPaymentRequests: 'btcpay.store.canviewpaymentrequests',
  canViewReports: 'btcpay.store.canviewreports',
  canUseLightningNodeInStore: 'btcpay.store.canuselightningnode',
  canViewLightningInvoiceInStore: 'btcpay.store.canviewlightninginvoice',
  canCreateLightningInvoiceInStore: 'btcpay.store.cancreatelightninginvoice',
  canSendStoreEmail: 'btcpay.store.cansendstoreemails',
  canManagePullPayments: 'btcpay.store.canmanagepullpayments',
  canCreatePullPayments: 'btcpay.store.cancreatepullpayments',
  canCreateNonApprovedPullPayments: 'btcpay.store.cancreatenonapprovedpullpayments',
  canArchivePullPayments: 'btcpay.store.canarchivepullpayments',
  canViewPullPayments: 'btcpay.store.canviewpullpayments',
  canManagePayouts: 'btcpay.store.canmanagepayouts',
  canViewPayouts: 'btcpay.store.canviewpayouts',
} as const

const P = Policies

/** policy → the policies it includes (one level; `includes` follows them transitively). */
const CHILDREN: Record<string, readonly string[]> = {
  [P.canModifyServerSettings]: [P.canUseInternalLightningNode, P.canManageUsers],
  [P.canUseInternalLightningNode]: [
    P.canCreateLightningInvoiceInternalNode,
    P.canViewLightningInvoiceInternalNode,
  ],
  [P.canManageUsers]: [P.canCreateUser],
  [P.canModifyProfile]: [P.canViewProfile],
  [P.canModifyStoreSettings]: [
    P.canManagePullPayments,
    P.canModifyInvoices,
    P.canViewStoreSettings,
    P.canModifyWebhooks,
    P.canModifyPaymentRequests,
    P.canManagePayouts,
    P.canUseLightningNodeInStore,
    P.canSendStoreEmail,
  ],
  [P.canViewStoreSettings]: [
    P.canViewInvoices,
    P.canViewPaymentRequests,
    P.canViewReports,
    P.canViewPullPayments,
    P.canViewPayouts,
  ],
  [P.canModifyInvoices]: [
    P.canViewInvoices,
    P.canCreateInvoice,
    P.canCreateLightningInvoiceInStore,
  ],
  [P.canModifyPaymentRequests]: [P.canViewPaymentRequests],
  [P.canUseLightningNodeInStore]: [
    P.canViewLightningInvoiceInStore,
    P.canCreateLightningInvoiceInStore,
  ],
  [P.canCreateLightningInvoiceInStore]: [P.canViewLightningInvoiceInStore],
  [P.canManagePullPayments]: [P.canCreatePullPayments, P.canArchivePullPayments],
  [P.canCreatePullPayments]: [P.canCreateNonApprovedPullPayments],
  [P.canCreateNonApprovedPullPayments]: [P.canViewPullPayments],
  [P.canManagePayouts]: [P.canViewPayouts],
}

/** BTCPay's Permission.TryParse: `policy` or `policy:scope`, policy matching its regex. */
const POLICY = /^(?:btcpay\.([a-z0-9]+\.)*[a-z0-9]+|unrestricted)$/

export interface Permission {
  readonly policy: string
  readonly scope: string | null
}

export function parsePermission(s: string): Permission | null {
  const t = s.trim()
  const i = t.indexOf(':')
  const policy = (i < 0 ? t : t.slice(0, i)).toLowerCase()
  const scope = i < 0 ? null : t.slice(i + 1)
  if (scope === '' || !POLICY.test(policy)) return null
  return { policy, scope }
}

export function includes(held: string, wanted: string): boolean {
  if (held === wanted) return true
  return (CHILDREN[held] ?? []).some((c) => includes(c, wanted))
}

export const isStorePolicy = (p: string) => p.startsWith('btcpay.store.')
export const isServerPolicy = (p: string) => p.startsWith('btcpay.server.')

/** Who is asking: a user (Basic auth: everything the user may do) or a user through an API key. */
export interface Principal {
  readonly userId: string
  readonly admin: boolean
  /** null = Basic auth (the user's own rights, unrestricted). */
  readonly permissions: readonly Permission[] | null
  readonly storeIds: ReadonlySet<string>
}

/** Does the principal hold `policy` (for `storeId` when it is a store policy)? */
export function allows(who: Principal, policy: string, storeId?: string): boolean {
  // The user's own rights first: a key never expands them.
  if (isServerPolicy(policy) && !who.admin) return false
  if (isStorePolicy(policy) && storeId !== undefined && !who.admin && !who.storeIds.has(storeId))
    return false
  if (who.permissions === null) return true
  return who.permissions.some((p) => {
    if (p.policy === Policies.unrestricted) return true
    if (!includes(p.policy, policy)) return false
    if (!isStorePolicy(policy)) return true
    // A store-scoped key reaches only its store; with no store named (lists, creating a store)
    // an unscoped key is needed, except that listing filters by scope (see `storesVisible`).
    return p.scope === null || (storeId !== undefined && p.scope === storeId)
  })
}

/** Stores a key may see for a store policy (GET /api/v1/stores filters by this). */
export function storesVisible(who: Principal, policy: string, all: Iterable<string>): string[] {
  return [...all].filter((id) => allows(who, policy, id))
}
