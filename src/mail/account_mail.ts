// The mails self-service accounts send: plain text, named after the brand, each with one link.
import type { BrandSettings as Brand } from '../config.ts';
import type { Mail } from './mailer.ts';

function minutes(seconds: number): string {
  const value = Math.round(seconds / 60);
  return value >= 120 ? `${Math.round(value / 60)} hours` : `${value} minutes`;
}

function signature(brand: Brand): string {
  return `--\n${brand.name}${brand.supportUrl ? `\nHelp: ${brand.supportUrl}` : ''}\n`;
}

export function verificationMail(brand: Brand, to: string, link: string, ttlSeconds: number): Mail {
  return {
    to,
    subject: `Confirm your email address for ${brand.name}`,
    text: `Someone, hopefully you, created a ${brand.name} account with this email address.

To confirm it, open this link within ${minutes(ttlSeconds)}:

${link}

If it was not you, ignore this mail: the account cannot be used without the link.

${signature(brand)}`,
  };
}

export function passwordResetMail(brand: Brand, to: string, link: string, ttlSeconds: number): Mail {
  return {
    to,
    subject: `Reset your ${brand.name} password`,
    text: `Someone, hopefully you, asked to reset the password of your ${brand.name} account.

To choose a new password, open this link within ${minutes(ttlSeconds)}. It works once:

${link}

If it was not you, ignore this mail: your password stays as it is.

${signature(brand)}`,
  };
}

/** To the owner of an address someone tried to sign up with again (the form says the same either way). */
export function alreadyRegisteredMail(brand: Brand, to: string, signInLink: string, resetLink: string | undefined): Mail {
  return {
    to,
    subject: `You already have a ${brand.name} account`,
    text: `Someone, hopefully you, tried to create a ${brand.name} account with this email address, which already has one.

Sign in here: ${signInLink}
${resetLink ? `\nForgot your password? ${resetLink}\n` : ''}
If it was not you, ignore this mail: nothing has changed.

${signature(brand)}`,
  };
}
