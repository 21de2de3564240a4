// Every page of the app. To add one: write src/renderer/pages/<id>/<Name>Page.tsx with a default
// export taking PageProps, then add ONE line here. Pages load lazily, on first visit — except the
// dashboard, where nearly every visit lands: it ships in the first download, so showing it never
// waits for a second script to arrive after the data did.
import { lazy } from 'react'
import DashboardPage from './dashboard/DashboardPage'
import type { PageDef } from './types'

export type { PageDef, PageProps } from './types'

// prettier-ignore
export const pages: PageDef[] = [
  { id: 'dashboard', title: 'Dashboard', path: '/', nav: true, component: DashboardPage },
  { id: 'service', title: 'Service', path: '/service/:id', nav: false, parent: 'dashboard', component: lazy(() => import('./service/ServicePage')) },
  { id: 'lightning', title: 'Lightning', path: '/lightning', nav: true, component: lazy(() => import('./lightning/LightningPage')) },
  { id: 'wallet', title: 'Wallet', path: '/wallet', nav: true, component: lazy(() => import('./wallet/WalletPage')) },
  { id: 'ecash', title: 'eCash', path: '/ecash', nav: true, component: lazy(() => import('./ecash/EcashPage')) },
  { id: 'merchant', title: 'Merchant', path: '/merchant', nav: true, component: lazy(() => import('./merchant/MerchantPage')) },
  { id: 'messages', title: 'Messages', path: '/messages', nav: true, component: lazy(() => import('./messages/MessagesPage')) },
  { id: 'relay', title: 'Relay', path: '/relay', nav: true, component: lazy(() => import('./relay/RelayPage')) },
  { id: 'mint-admin', title: 'Mint', path: '/mint', nav: true, component: lazy(() => import('./mint-admin/MintAdminPage')) },
  { id: 'devices', title: 'Devices', path: '/devices', nav: true, component: lazy(() => import('./devices/DevicesPage')) },
  { id: 'settings', title: 'Settings', path: '/settings', nav: true, component: lazy(() => import('./settings/SettingsPage')) },
  { id: 'settings-section', title: 'Settings', path: '/settings/:section', nav: false, parent: 'settings', component: lazy(() => import('./settings/SettingsPage')) },
]
