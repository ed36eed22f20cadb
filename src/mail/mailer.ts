// Outgoing mail over SMTP (nodemailer), configured by SMTP_URL and MAIL_FROM. Without SMTP_URL —
// only outside production, where src/production_policy.ts refuses it — a mail is written to the log
// instead, links included, so sign-up and password reset can be tried on a developer's machine.
import { createTransport } from 'nodemailer';
import type { MailSettings } from '../config.ts';
import type { Logger } from '../logger.ts';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

export function createMailer(settings: MailSettings, logger: Logger): Mailer {
  if (!settings.smtpUrl) {
    return {
      async send(mail) {
        logger.warn({ mail }, 'SMTP_URL is not set: this mail was not sent, here is its text (development only)');
      },
    };
  }
  const transport = createTransport(settings.smtpUrl);
  return {
    async send({ to, subject, text }) {
      await transport.sendMail({ from: settings.from, to, subject, text });
    },
  };
}
