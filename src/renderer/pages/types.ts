import type { ComponentType, LazyExoticComponent } from 'react'

export interface PageProps {
  /** Path parameters, e.g. { id: 'bitcoind' } for `/service/:id`. */
  readonly params: Readonly<Record<string, string>>
}

export interface PageDef {
  /** Stable id, e.g. 'relay'. */
  readonly id: string
  /** Shown in the navigation and the window title. */
  readonly title: string
  /** Hash path pattern, e.g. '/relay' or '/service/:id'. */
  readonly path: string
  /** Listed in the side navigation (pages with parameters usually are not). */
  readonly nav: boolean
  /** The navigation entry to highlight when this page is not listed itself. */
  readonly parent?: string
  /** Usually loaded when first visited (lazy), so the first screen stays small. */
  readonly component: LazyExoticComponent<ComponentType<PageProps>> | ComponentType<PageProps>
}
