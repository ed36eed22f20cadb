// The pages node-oidc-provider renders itself (its error page, the logout confirmation and the
// signed-out page), drawn like every other page; the provider's configuration takes them as hooks.
import type { ProviderPages } from '../provider/configuration.ts';
import { pageErrorAnswer } from './error_answers.ts';
import { logoutPage, signedOutPage } from './views/message_pages.ts';

export const providerPages: ProviderPages = {
  async renderError(ctx, out) {
    pageErrorAnswer(ctx, ctx.status, out.error, out.error_description);
  },
  async logoutSource(ctx, form) {
    ctx.type = 'html';
    ctx.body = logoutPage(form, ctx.host);
  },
  async postLogoutSuccessSource(ctx) {
    ctx.type = 'html';
    ctx.body = signedOutPage(ctx.oidc.client?.clientName);
  },
};
