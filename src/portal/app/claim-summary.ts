/**
 * What the portal says of a payer's ExplanationOfBenefit (decision 0019): no DOM here, so the
 * node-side tests check it without a browser.
 */
type Amount = {
  category?: { coding?: { code?: string }[] };
  amount?: { value?: number; currency?: string };
};

function money(amount: Amount['amount']): string {
  return amount?.value === undefined ? '' : `${amount.value.toFixed(2)} ${amount.currency ?? ''}`.trim();
}

/** What the patient owes (CARIN `memberliability`), what the plan paid, and the outcome. */
export function claimAmounts(r: Readonly<Record<string, unknown>>): string {
  const totals = (r.total ?? []) as Amount[];
  const owed = totals.find((t) => t.category?.coding?.some((c) => c.code === 'memberliability'));
  const paid = (r.payment as { amount?: Amount['amount'] } | undefined)?.amount;
  return [
    owed === undefined ? '' : `you owe ${money(owed.amount)}`,
    paid === undefined ? '' : `plan paid ${money(paid)}`,
    String(r.outcome ?? ''),
  ]
    .filter(Boolean)
    .join(' · ');
}
