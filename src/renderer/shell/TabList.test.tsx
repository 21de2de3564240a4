import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { useState } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import { TabList, tabPanelProps } from './TabList'

type Id = 'a' | 'b' | 'c'
const tabs = [
  { id: 'a', label: 'Alpha' },
  { id: 'b', label: 'Beta' },
  { id: 'c', label: 'Gamma' },
] as const

function Harness() {
  const [tab, setTab] = useState<Id>('a')
  return (
    <>
      <TabList label="Things" idPrefix="t" tabs={tabs} selected={tab} onSelect={setTab} />
      <div {...tabPanelProps('t', tab)}>panel {tab}</div>
    </>
  )
}

afterEach(cleanup)

describe('TabList', () => {
  it('selects on click and names the panel it controls', () => {
    render(<Harness />)
    fireEvent.click(screen.getByRole('tab', { name: 'Beta' }))
    const beta = screen.getByRole('tab', { name: 'Beta' })
    expect(beta.getAttribute('aria-selected')).toBe('true')
    expect(beta.tabIndex).toBe(0)
    expect(screen.getByRole('tab', { name: 'Alpha' }).tabIndex).toBe(-1)
    const panel = screen.getByRole('tabpanel', { name: 'Beta' })
    expect(panel.textContent).toBe('panel b')
    expect(beta.getAttribute('aria-controls')).toBe(panel.id)
  })

  it('moves with the arrow keys, wrapping at both ends, and takes the focus along', () => {
    render(<Harness />)
    fireEvent.keyDown(screen.getByRole('tab', { name: 'Alpha' }), { key: 'ArrowLeft' })
    expect(screen.getByRole('tab', { name: 'Gamma' }).getAttribute('aria-selected')).toBe('true')
    expect(document.activeElement).toBe(screen.getByRole('tab', { name: 'Gamma' }))
    fireEvent.keyDown(screen.getByRole('tab', { name: 'Gamma' }), { key: 'ArrowRight' })
    expect(screen.getByRole('tab', { name: 'Alpha' }).getAttribute('aria-selected')).toBe('true')
    fireEvent.keyDown(screen.getByRole('tab', { name: 'Alpha' }), { key: 'Enter' })
    expect(screen.getByRole('tab', { name: 'Alpha' }).getAttribute('aria-selected')).toBe('true')
  })
})
