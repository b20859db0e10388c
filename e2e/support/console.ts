import { expect, type Page } from '@playwright/test';
import type { Stack } from './stack';

/** Signs in the way a person does: ask for a link, take it from the mail, open it, press the button. */
export async function signIn(page: Page, stack: Stack, email: string): Promise<void> {
  const before = stack.smtp.mails.length;
  await page.goto(`${stack.url}/login`);
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Mail me a sign-in link' }).click();
  await expect(page.getByRole('status')).toContainText(`We sent a sign-in link to ${email}`);
  const link = await stack.smtp.linkFor(email, before);
  await page.goto(link);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${stack.url}/capsuls`);
  await expect(page.getByRole('heading', { name: 'Your capsuls' })).toBeVisible();
}
