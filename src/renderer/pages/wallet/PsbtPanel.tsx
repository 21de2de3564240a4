// PSBTs in and out: export a review's PSBT as a .psbt file (BIP174 binary) or base64 text to sign
// elsewhere; import one (file or pasted base64/hex; BIP370 version 2 is read too) to review,
// finalize and broadcast it.
import { useState } from 'react'
import type { SendReview } from '../../../shared/api/wallet-send'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { ReviewCard, SendResult } from './ReviewCard'
import type { WalletSendClient } from './send-client'
import { TextAreaField, TextField } from '../../shell/TextField'

export function PsbtExport({ psbt, name }: { psbt: string; name: string }) {
  const [copied, setCopied] = useState(false)
  const download = () => {
    const bytes = Uint8Array.from(atob(psbt), (c) => c.charCodeAt(0))
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }))
    const a = document.createElement('a')
    a.href = url
    a.download = `${name}.psbt`
    a.click()
    URL.revokeObjectURL(url)
  }
  return (
    <details>
      <summary>PSBT for another signer</summary>
      <textarea aria-label="PSBT (base64)" readOnly rows={3} value={psbt} spellCheck={false} />
      <div className="row">
        <button type="button" onClick={download}>
          Download .psbt file
        </button>{' '}
        <button
          type="button"
          onClick={async () => {
            await navigator.clipboard?.writeText(psbt)
            setCopied(true)
          }}
        >
          {copied ? 'Copied' : 'Copy base64'}
        </button>
      </div>
    </details>
  )
}

async function fileToBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  // A text file holding base64 or hex is passed as it is; a binary .psbt is encoded.
  if (bytes[0] === 0x70 && bytes[1] === 0x73 && bytes[2] === 0x62 && bytes[3] === 0x74) {
    let s = ''
    for (const b of bytes) s += String.fromCharCode(b)
    return btoa(s)
  }
  return new TextDecoder().decode(bytes).trim()
}

export function PsbtImport({ client, accountId }: { client: WalletSendClient; accountId: string }) {
  const [text, setText] = useState('')
  const [review, setReview] = useState<SendReview>()
  const [result, setResult] = useState<SendReview>()
  const load = useMutation((psbt: string) => client.importPsbt({ accountId, psbt }))
  const reset = () => {
    setReview(undefined)
    setResult(undefined)
    setText('')
  }
  if (result) return <SendResult review={result} onAgain={reset} />
  if (review)
    return <ReviewCard client={client} review={review} onDone={setResult} onCancel={reset} />
  return (
    <section aria-labelledby="psbt-import">
      <h2 id="psbt-import">Import a PSBT</h2>
      <p className="muted">
        A PSBT signed elsewhere (a hardware wallet, Sparrow, another box) for this wallet’s coins.
        You review it before anything is sent.
      </p>
      <TextField
        id="psbt-file"
        label="PSBT file"
        type="file"
        accept=".psbt,.txt,application/octet-stream,text/plain"
        onChange={async (e) => {
          const f = e.target.files?.[0]
          if (f) setText(await fileToBase64(f))
        }}
      />
      <TextAreaField
        id="psbt-text"
        label="Or paste it (base64 or hex)"
        rows={4}
        spellCheck={false}
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <button
        type="button"
        className="primary"
        disabled={!text.trim() || load.pending}
        onClick={async () => {
          const r = await load.run(text.trim())
          if (r) setReview(r)
        }}
      >
        Review the PSBT
      </button>
      {load.error && <ErrorBox error={load.error} />}
    </section>
  )
}
