/**
 * How an account's score weighs its leads (scoring/accounts.ts), apart so the dashboards' accounts page can say it
 * without bundling the scoring code: the share of the best, second and third lead's score (each counted up to the
 * hot mark), and the points for each further kind of role among the leads that are looking.
 */
export const ACCOUNT_WEIGHTS = [0.6, 0.5, 0.2] as const;
export const POINTS_PER_EXTRA_ROLE = 10;
