// A labelled form field, in one place: the label names the control (htmlFor/id), an optional hint
// and an optional error are read with it (aria-describedby), and the control is marked invalid
// while the error shows (aria-invalid). The control's own props (value, onChange, inputMode, …)
// pass straight through. TextField is an <input>, TextAreaField a <textarea>, SelectField a
// <select> whose children are its options.
import {
  useId,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
} from 'react'

interface FieldParts {
  label: ReactNode
  /** What to type, shown under the control. */
  hint?: ReactNode
  /** What is wrong with what was typed; the control is invalid while it shows. */
  error?: ReactNode
  /** The control's id, where a test or another element names it; otherwise one is made. */
  id?: string
}

function hasContent(node: ReactNode): boolean {
  return node !== undefined && node !== null && node !== false && node !== ''
}

function useWiring(
  { id, hint, error }: Pick<FieldParts, 'id' | 'hint' | 'error'>,
  ownDescribedBy: string | undefined,
  ownInvalid: InputHTMLAttributes<HTMLInputElement>['aria-invalid'],
) {
  const made = useId()
  const controlId = id ?? made
  const showHint = hasContent(hint)
  const showError = hasContent(error)
  const hintId = `${controlId}-hint`
  const errorId = `${controlId}-error`
  const describedBy =
    [ownDescribedBy, showHint && hintId, showError && errorId].filter(Boolean).join(' ') ||
    undefined
  return {
    controlId,
    control: {
      id: controlId,
      'aria-describedby': describedBy,
      'aria-invalid': showError ? true : ownInvalid,
    },
    after: (
      <>
        {showHint && (
          <p id={hintId} className="help">
            {hint}
          </p>
        )}
        {showError && (
          <p id={errorId} className="notice tone-bad" role="alert">
            {error}
          </p>
        )}
      </>
    ),
  }
}

function Field({
  controlId,
  label,
  children,
}: {
  controlId: string
  label: ReactNode
  children: ReactNode
}) {
  return (
    <div className="field">
      <label htmlFor={controlId}>{label}</label>
      {children}
    </div>
  )
}

export function TextField({
  label,
  hint,
  error,
  id,
  ...input
}: FieldParts & Omit<InputHTMLAttributes<HTMLInputElement>, 'id'>) {
  const w = useWiring({ id, hint, error }, input['aria-describedby'], input['aria-invalid'])
  return (
    <Field controlId={w.controlId} label={label}>
      <input {...input} {...w.control} />
      {w.after}
    </Field>
  )
}

export function TextAreaField({
  label,
  hint,
  error,
  id,
  ...textarea
}: FieldParts & Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'id'>) {
  const w = useWiring({ id, hint, error }, textarea['aria-describedby'], textarea['aria-invalid'])
  return (
    <Field controlId={w.controlId} label={label}>
      <textarea {...textarea} {...w.control} />
      {w.after}
    </Field>
  )
}

export function SelectField({
  label,
  hint,
  error,
  id,
  children,
  ...select
}: FieldParts & Omit<SelectHTMLAttributes<HTMLSelectElement>, 'id'>) {
  const w = useWiring({ id, hint, error }, select['aria-describedby'], select['aria-invalid'])
  return (
    <Field controlId={w.controlId} label={label}>
      <select {...select} {...w.control}>
        {children}
      </select>
      {w.after}
    </Field>
  )
}

/** A checkbox (or, with type="radio", a radio button) with its label beside it. */
export function CheckboxField({
  label,
  id,
  ...input
}: Pick<FieldParts, 'label' | 'id'> & Omit<InputHTMLAttributes<HTMLInputElement>, 'id'>) {
  const made = useId()
  const controlId = id ?? made
  return (
    <div className="field checkbox">
      <input type="checkbox" {...input} id={controlId} />
      <label htmlFor={controlId}>{label}</label>
    </div>
  )
}
