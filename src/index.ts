// The public API: explicit named exports only, no logic.

// --- protocol layer (src/clickhouse) ---

// --- actor runtime (src/otp) ---

// --- pool (src/pool) ---
