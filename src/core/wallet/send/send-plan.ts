// From "pay these addresses these amounts at this fee rate" to the exact inputs and outputs of a
// transaction: coin selection (coin-selection.ts) with the box's sizes (weights.ts), change only
// when it is worth an output, send-max, batches, and the owner's own pick of coins.
import { FlashError } from '../../errors'
import {
  selectCoins,
  spendExactly,
  type SelectableCoin,
  type SelectionParams,
} from './coin-selection'
import {
  dustThreshold,
  feeFor,
  inputWeight,
  outputWeight,
  outputWeightForScript,
  overheadWeight,
  SCRIPT_LENGTH,
  transactionWeight,
  vsizeOf,
  type ScriptType,
} from './weights'

/** A coin of the wallet as the plan needs it. */
export interface PlanCoin {
  readonly txid: string
  readonly vout: number
  readonly valueSat: number
  readonly type: ScriptType
}

export interface Recipient {
  readonly address: string
  readonly script: Uint8Array
  /** Ignored for the send-max recipient. */
  readonly amountSat: number
}

export interface PlanRequest<C extends PlanCoin> {
  readonly recipients: readonly Recipient[]
  /** Index of the recipient that gets everything left after the fee (send max), if any. */
  readonly sendMax?: number
  /** Spendable coins (frozen ones already removed). */
  readonly coins: readonly C[]
  /** Coin control: spend exactly these coins ("txid:vout"). */
  readonly pickedCoins?: readonly string[]
  readonly feeRateSatPerKvb: number
  /** Core's default -consolidatefeerate, 10 sat/vB. */
  readonly longTermFeeRateSatPerKvb?: number
  /** Where change goes: the wallet's next unused change address. */
  readonly change: {
    readonly type: ScriptType
    readonly script: Uint8Array
    readonly address: string
  }
}

export interface PlannedOutput {
  readonly address?: string
  readonly script: Uint8Array
  readonly amountSat: number
  readonly change: boolean
}

export interface Plan<C extends PlanCoin> {
  readonly inputs: readonly C[]
  readonly outputs: readonly PlannedOutput[]
  readonly feeSat: number
  readonly weight: number
  readonly vsize: number
  readonly changeSat: number
  readonly algorithm: string
}

export const coinId = (c: { txid: string; vout: number }): string => `${c.txid}:${c.vout}`

export function formatSat(n: number): string {
  return `${n.toLocaleString('en-US')} sat`
}

export function plan<C extends PlanCoin>(req: PlanRequest<C>): Plan<C> {
  if (req.recipients.length === 0) {
    throw new FlashError(
      'wallet.no-recipient',
      'Add at least one address to pay.',
      'Fill in an address and an amount.',
    )
  }
  const byId = new Map(req.coins.map((c) => [coinId(c), c]))
  let coins: C[] = [...req.coins]
  if (req.pickedCoins && req.pickedCoins.length > 0) {
    coins = req.pickedCoins.map((id) => {
      const c = byId.get(id)
      if (!c) {
        throw new FlashError(
          'wallet.coin-not-spendable',
          `The coin ${id} you picked cannot be spent: it is frozen, already spent, or not in this wallet.`,
          'Pick coins again from the coin list.',
        )
      }
      return c
    })
  }
  const recipientScripts = req.recipients.map((r) => r.script.length)
  const payments = req.recipients.reduce((s, r, i) => (i === req.sendMax ? s : s + r.amountSat), 0)
  const available = coins.reduce((s, c) => s + c.valueSat, 0)

  if (req.sendMax !== undefined) return planMax(req, coins, payments, recipientScripts, available)

  const changeScriptLength = SCRIPT_LENGTH[req.change.type]
  const baseWeight =
    overheadWeight(1, req.recipients.length + 1, true) +
    recipientScripts.reduce((s, l) => s + outputWeightForScript(l), 0)
  const changeOut = vsizeOf(outputWeight(req.change.type))
  const changeSpend = vsizeOf(inputWeight(req.change.type))
  const changeOutputFeeSat = feeFor(req.feeRateSatPerKvb, changeOut)
  const longTerm = req.longTermFeeRateSatPerKvb ?? 10_000
  const params: SelectionParams = {
    targetSat: payments + feeFor(req.feeRateSatPerKvb, vsizeOf(baseWeight)),
    feeRateSatPerKvb: req.feeRateSatPerKvb,
    longTermFeeRateSatPerKvb: longTerm,
    costOfChangeSat: changeOutputFeeSat + feeFor(longTerm, changeSpend),
    changeOutputFeeSat,
    minChangeSat: Math.max(dustThreshold(req.change.script), feeFor(longTerm, changeSpend) + 1),
  }
  const selectable: (SelectableCoin & { coin: C })[] = coins.map((c) => ({
    id: coinId(c),
    valueSat: c.valueSat,
    inputWeight: inputWeight(c.type),
    coin: c,
  }))
  const selection =
    req.pickedCoins && req.pickedCoins.length > 0
      ? spendExactly(selectable, params)
      : selectCoins(selectable, params)
  if (!selection) {
    const needed = params.targetSat
    throw new FlashError(
      'wallet.insufficient-funds',
      `This payment needs ${formatSat(needed)} plus the fee for the coins it spends, but ${
        req.pickedCoins?.length ? 'the coins you picked hold' : 'the coins you can spend hold'
      } ${formatSat(available)}.`,
      req.pickedCoins?.length
        ? 'Pick more coins, lower the amount, or choose a lower fee rate.'
        : 'Lower the amount or the fee rate. Frozen coins and coins waiting in unsigned sends are not counted.',
    )
  }
  const inputs = selection.coins.map((s) => (s as (typeof selectable)[number]).coin)
  const outputs: PlannedOutput[] = req.recipients.map((r) => ({
    address: r.address,
    script: r.script,
    amountSat: r.amountSat,
    change: false,
  }))
  const inputTypes = inputs.map((c) => c.type)
  let changeSat = 0
  let weight: number
  if (selection.changeSat > 0) {
    // Size the change exactly from the whole transaction's weight.
    weight = transactionWeight(inputTypes, [...recipientScripts, changeScriptLength])
    changeSat = selection.inputSat - payments - feeFor(req.feeRateSatPerKvb, vsizeOf(weight))
    if (changeSat < params.minChangeSat) {
      changeSat = 0
      weight = transactionWeight(inputTypes, recipientScripts)
    }
  } else {
    weight = transactionWeight(inputTypes, recipientScripts)
  }
  const feeSat = selection.inputSat - payments - changeSat
  if (feeSat < feeFor(req.feeRateSatPerKvb, vsizeOf(weight))) {
    throw new FlashError(
      'wallet.insufficient-funds',
      `After the fee, the coins ${req.pickedCoins?.length ? 'you picked' : 'you can spend'} do not cover this payment.`,
      'Lower the amount or the fee rate, or pick more coins.',
    )
  }
  return {
    inputs,
    outputs:
      changeSat > 0
        ? [
            ...outputs,
            {
              address: req.change.address,
              script: req.change.script,
              amountSat: changeSat,
              change: true,
            },
          ]
        : outputs,
    feeSat,
    weight,
    vsize: vsizeOf(weight),
    changeSat,
    algorithm: selection.algorithm,
  }
}

function planMax<C extends PlanCoin>(
  req: PlanRequest<C>,
  coins: C[],
  payments: number,
  recipientScripts: number[],
  available: number,
): Plan<C> {
  if (coins.length === 0) {
    throw new FlashError(
      'wallet.insufficient-funds',
      'There are no coins to send: the wallet is empty, or every coin is frozen or waiting in an unsigned send.',
      'Receive some bitcoin first, or unfreeze coins in the coin list.',
    )
  }
  const weight = transactionWeight(
    coins.map((c) => c.type),
    recipientScripts,
  )
  const feeSat = feeFor(req.feeRateSatPerKvb, vsizeOf(weight))
  const max = available - payments - feeSat
  const r = req.recipients[req.sendMax!]!
  const dust = dustThreshold(r.script)
  if (max < dust) {
    throw new FlashError(
      'wallet.max-below-dust',
      `After the other payments and the fee of ${formatSat(feeSat)}, only ${formatSat(Math.max(0, max))} would be left to send — below the ${formatSat(dust)} the network relays for this address.`,
      'Choose a lower fee rate, or send to fewer addresses.',
    )
  }
  return {
    inputs: coins,
    outputs: req.recipients.map((x, i) => ({
      address: x.address,
      script: x.script,
      amountSat: i === req.sendMax ? max : x.amountSat,
      change: false,
    })),
    feeSat,
    weight,
    vsize: vsizeOf(weight),
    changeSat: 0,
    algorithm: 'send-max',
  }
}
