// The brand every page shows (BRAND_* settings). Pages are plain functions of their input; rather than
// threading the brand through every one of them (and the provider's error and logout pages), the HTTP
// app runs each request inside `withBrand`, and the layout reads the brand of the request it renders.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, Next } from 'koa';
import type { BrandSettings } from '../../config.ts';

export type Brand = BrandSettings;

export const DEFAULT_BRAND: Brand = { name: 'Portcullis', logoUrl: undefined, primaryColor: undefined, supportUrl: undefined };

const requestBrand = new AsyncLocalStorage<Brand>();

/** The brand of the request being rendered (the default outside one). */
export function currentBrand(): Brand {
  return requestBrand.getStore() ?? DEFAULT_BRAND;
}

/** Koa middleware: every page rendered while serving the request shows `brand`. */
export function withBrand(brand: Brand) {
  return function brandRequest(_ctx: Context, next: Next): Promise<void> {
    return requestBrand.run(brand, next);
  };
}

/** The stylesheet carrying the brand colour (the CSP allows no inline style); empty without one. */
export function brandStylesheet(brand: Brand): string {
  // The colour is validated as #rgb/#rrggbb (src/config.ts): nothing else can reach the CSS.
  return brand.primaryColor ? `:root { --accent: ${brand.primaryColor}; }\n` : '';
}
