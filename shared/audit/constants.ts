/** `actor` of a call made with the admin token. */
export const ACTOR_ADMIN = 'admin';

/** `actor` of a call whose caller could not be authenticated. */
export const ACTOR_ANONYMOUS = 'anonymous';

/** Error codes that mean the authenticator refused the caller (so no actor is known). */
export const AUTH_FAILURE_CODES: ReadonlySet<string> = new Set(['UNAUTHENTICATED', 'PERMISSION_DENIED']);
