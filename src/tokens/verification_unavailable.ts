// No verdict on a token: its store or the authorization server did not answer. Its own module so the
// resource-server kit's declarations reach it without the provider's types.

/** The verifier could not reach a verdict (storage or authorization server unavailable). */
export class VerificationUnavailable extends Error {
  override name = 'VerificationUnavailable';
}
