import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { useState } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import { CheckboxField, SelectField, TextAreaField, TextField } from './TextField'

afterEach(cleanup)

function Amount() {
  const [value, setValue] = useState('')
  return (
    <TextField
      label="Amount (sat)"
      hint="Whole sats only."
      error={/[^0-9]/.test(value) ? 'Type digits only.' : undefined}
      value={value}
      onChange={(e) => setValue(e.target.value)}
    />
  )
}

describe('TextField', () => {
  it('names the input by its label and reads the hint, then the error, with it', () => {
    render(<Amount />)
    const input = screen.getByLabelText('Amount (sat)')
    expect(input.tagName).toBe('INPUT')
    expect(input.getAttribute('aria-invalid')).toBeNull()
    expect(screen.queryByRole('alert')).toBeNull()
    const [hintId] = input.getAttribute('aria-describedby')!.split(' ')
    expect(document.getElementById(hintId!)!.textContent).toBe('Whole sats only.')

    fireEvent.change(input, { target: { value: '12x' } })
    expect(input.getAttribute('aria-invalid')).toBe('true')
    const ids = input.getAttribute('aria-describedby')!.split(' ')
    expect(ids).toHaveLength(2)
    expect(document.getElementById(ids[1]!)).toBe(screen.getByRole('alert'))
    expect(screen.getByRole('alert').textContent).toBe('Type digits only.')

    fireEvent.change(input, { target: { value: '12' } })
    expect(input.getAttribute('aria-invalid')).toBeNull()
    expect(input.getAttribute('aria-describedby')!.split(' ')).toEqual([hintId])
  })

  it('keeps an id it is given and a description the page points at', () => {
    render(
      <>
        <p id="elsewhere">Said above the form.</p>
        <TextField id="send-address-0" label="Address" aria-describedby="elsewhere" />
      </>,
    )
    const input = screen.getByLabelText('Address')
    expect(input.id).toBe('send-address-0')
    expect(input.getAttribute('aria-describedby')).toBe('elsewhere')
    expect(input.getAttribute('aria-invalid')).toBeNull()
  })

  it('wires a textarea and a select the same way', () => {
    render(
      <>
        <TextAreaField label="Message" error="Too long." rows={3} defaultValue="…" />
        <SelectField label="Unit" hint="How amounts show." defaultValue="sat">
          <option value="sat">sat</option>
          <option value="btc">BTC</option>
        </SelectField>
      </>,
    )
    const message = screen.getByLabelText('Message')
    expect(message.tagName).toBe('TEXTAREA')
    expect(message.getAttribute('aria-invalid')).toBe('true')
    expect(document.getElementById(message.getAttribute('aria-describedby')!)!.textContent).toBe(
      'Too long.',
    )
    const unit = screen.getByLabelText('Unit') as HTMLSelectElement
    expect(unit.value).toBe('sat')
    expect(unit.options).toHaveLength(2)
    expect(document.getElementById(unit.getAttribute('aria-describedby')!)!.textContent).toBe(
      'How amounts show.',
    )
  })

  it('puts a checkbox or a radio button before its label, named by it', () => {
    let checked = false
    render(
      <>
        <CheckboxField label="Send max" onChange={(e) => (checked = e.target.checked)} />
        <CheckboxField id="fee-custom" label="Custom" type="radio" name="fee" readOnly />
      </>,
    )
    const box = screen.getByLabelText('Send max') as HTMLInputElement
    expect(box.type).toBe('checkbox')
    expect(box.nextElementSibling!.textContent).toBe('Send max')
    fireEvent.click(box)
    expect(checked).toBe(true)
    const radio = screen.getByRole('radio', { name: 'Custom' })
    expect(radio.id).toBe('fee-custom')
  })
})
