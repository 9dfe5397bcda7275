/**
 * Asks before a registry change: a modal `<dialog>` spelling out the consequence, with
 * Cancel focused first so Enter alone never confirms by accident. Resolves whether confirmed.
 *
 * @example
 * if (await confirmAction(dialog, 'Roll back production', 'production moves back to v1.')) rollback();
 */
export function confirmAction(dialog: HTMLDialogElement, title: string, consequence: string): Promise<boolean> {
  const heading = dialog.querySelector('h2');
  const text = dialog.querySelector('p');
  const cancel = dialog.querySelector<HTMLButtonElement>('button[value="cancel"]');
  if (heading) heading.textContent = title;
  if (text) text.textContent = consequence;
  dialog.returnValue = '';
  dialog.showModal();
  cancel?.focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
  });
}
