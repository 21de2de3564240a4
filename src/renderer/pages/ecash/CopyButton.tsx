import { useState } from 'react'

/** Copies `text` to the clipboard and says so. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState<'copied' | 'failed'>()
  return (
    <button
      type="button"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text)
          setDone('copied')
        } catch {
          setDone('failed')
        }
      }}
    >
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Select and copy it by hand' : label}
    </button>
  )
}
