// SIMULATOR — test-only. Greenfield "Users" (swagger.template.users.json): POST /api/v1/users
// works without authentication while the server has no administrator (the first user becomes the
// administrator and registrations close, as BTCPay documents); after that it needs
// btcpay.server.cancreateuser, and making an administrator needs `unrestricted` from an admin.
import {
  GreenfieldError,
  invalid,
  objectBody,
  ok,
  problem,
  str,
  type Call,
  type GreenfieldRoute,
  type User,
} from './greenfield'
import { Policies } from './permissions'

export function userData(u: User) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    imageUrl: null,
    invitationUrl: null,
    emailConfirmed: true,
    requiresEmailConfirmation: false,
    approved: true,
    requiresApproval: false,
    storeQuota: null,
    created: u.created,
    disabled: false,
    roles: u.admin ? ['ServerAdmin'] : [],
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+$/

function createUser(c: Call) {
  const sim = c.sim
  const firstAdmin = !sim.hasAdmin()
  if (!firstAdmin) {
    if (!c.who)
      throw new GreenfieldError(401, {
        code: 'unauthenticated',
        message: 'Authentication is required for accessing this endpoint',
      })
  }
  const b = objectBody(c)
  const email = str(b, 'email', true)!
  if (!EMAIL.test(email)) throw invalid('email', 'Invalid email')
  const password = str(b, 'password')
  if (password !== null && password.length < 6)
    throw invalid('password', 'The password must be at least 6 characters long')
  const wantAdmin = b.isAdministrator === true
  if (!firstAdmin) {
    const who = c.who!
    const mayCreate =
      who.admin &&
      (who.permissions === null ||
        who.permissions.some(
          (p) =>
            p.policy === Policies.unrestricted ||
            p.policy === Policies.canCreateUser ||
            p.policy === Policies.canManageUsers ||
            p.policy === Policies.canModifyServerSettings,
        ))
    if (!mayCreate) throw problem(403, 'missing-permission', 'You are not allowed to create users')
    if (
      wantAdmin &&
      !(who.permissions === null || who.permissions.some((p) => p.policy === Policies.unrestricted))
    )
      throw problem(
        403,
        'missing-permission',
        'Creating an administrator needs the unrestricted permission',
      )
  }
  if (sim.userByEmail(email)) throw invalid('email', 'Email is already taken')
  const { salt, hash } = sim.hashPassword(password ?? sim.id())
  const user: User = {
    id: sim.id(),
    email,
    name: str(b, 'name'),
    salt,
    hash,
    // The first user of a server is its administrator unless told otherwise.
    admin: firstAdmin ? b.isAdministrator !== false : wantAdmin,
    created: sim.now(),
  }
  sim.users.set(user.id, user)
  sim.log(`BTCPAY SIMULATOR user ${user.email} created${user.admin ? ' (administrator)' : ''}`)
  return ok(userData(user), 201)
}

function find(c: Call): User {
  const v = c.params.idOrEmail!
  const u = c.sim.users.get(v) ?? c.sim.userByEmail(v)
  if (!u) throw problem(404, 'user-not-found', 'The user was not found')
  return u
}

export function routes(): GreenfieldRoute[] {
  return [
    { method: 'POST', path: '/api/v1/users', auth: { kind: 'none' }, handle: createUser },
    {
      method: 'GET',
      path: '/api/v1/users/me',
      auth: { kind: 'policy', anyOf: [Policies.canViewProfile] },
      handle: (c) => ok(userData(c.sim.users.get(c.who!.userId)!)),
    },
    {
      method: 'GET',
      path: '/api/v1/users',
      auth: { kind: 'policy', anyOf: [Policies.canViewUsers] },
      handle: (c) => ok([...c.sim.users.values()].map(userData)),
    },
    {
      method: 'GET',
      path: '/api/v1/users/{idOrEmail}',
      auth: { kind: 'policy', anyOf: [Policies.canViewUsers] },
      handle: (c) => ok(userData(find(c))),
    },
  ]
}
