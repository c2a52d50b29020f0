/**
 * The advisory lock every change to aos's schema takes in its transaction (migrations, the
 * grants after them, `aos init`'s hand-over to aos_owner), so that two aos processes never
 * change the schema at once. Any constant works; it only has to be the same everywhere.
 */
export const schemaLockKey = 7_241_001;
