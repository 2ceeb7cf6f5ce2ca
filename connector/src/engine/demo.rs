//! The embedded default: a small shop database in SQLite, created on first use, so that
//! `athena-fed query` runs a real query on a fresh machine with nothing else installed.

use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, Executor, SqliteConnection};

/// The engine's own directory: `$ATHENA_FED_HOME`, else `athena-fed` in the XDG data
/// directory. It holds the demo database and each query's spill directory.
pub fn home_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("ATHENA_FED_HOME") {
        return PathBuf::from(home);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    data.join("athena-fed")
}

/// Where the demo database lives.
pub fn default_path() -> PathBuf {
    home_dir().join("demo.db")
}

/// A deterministic generator (the demo must be the same everywhere).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const COUNTRIES: &[&str] = &["DE", "FR", "US", "JP", "BR", "IN", "GB", "ES"];
const FIRST: &[&str] = &[
    "Ada", "Grace", "Linus", "Ken", "Barbara", "Edsger", "Margaret", "Alan", "Frances", "Donald",
    "Émilie", "José",
];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Torvalds", "Thompson", "Liskov", "Dijkstra", "Hamilton", "Turing",
    "Allen", "Knuth", "O'Brien", "Núñez",
];
const CATEGORIES: &[&str] = &["books", "garden", "kitchen", "toys", "tools", "music"];
const ADJECTIVES: &[&str] = &[
    "Classic", "Compact", "Deluxe", "Eco", "Heavy", "Smart", "Tiny", "Vintage", "Wireless", "Zen",
];
const NOUNS: &[&str] = &[
    "Kettle", "Lamp", "Rake", "Puzzle", "Drill", "Guitar", "Notebook", "Teapot", "Hammer",
    "Speaker",
];
const STATUSES: &[&str] = &[
    "shipped",
    "shipped",
    "shipped",
    "delivered",
    "delivered",
    "pending",
    "cancelled",
];

/// Creates the demo database at `path` unless it exists. Written to a temporary file and
/// renamed, so a half-created database is never left behind.
pub async fn ensure(path: &Path) -> Result<(), String> {
    if path.is_file() {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let options = SqliteConnectOptions::new()
        .filename(&tmp)
        .create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    fill(&mut conn)
        .await
        .map_err(|e| format!("cannot fill the demo database: {e}"))?;
    conn.close().await.map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path)
        .map_err(|e| format!("cannot move the demo database into place: {e}"))?;
    Ok(())
}

async fn fill(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    conn.execute(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, country TEXT, signup_date DATE, is_active BOOLEAN, credit_limit DECIMAL(10,2));
         CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT, unit_price DECIMAL(10,2), weight_kg REAL, discontinued BOOLEAN);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), ordered_at DATETIME, status TEXT, shipping_fee DECIMAL(8,2), note TEXT);
         CREATE TABLE order_items (order_id INTEGER REFERENCES orders(id), line INTEGER, product_id INTEGER REFERENCES products(id), quantity INTEGER, unit_price DECIMAL(10,2), PRIMARY KEY (order_id, line));",
    )
    .await?;
    let mut tx = conn.begin().await?;
    let mut r = Lcg(42);
    for id in 1..=250 {
        let (first, last) = (
            FIRST[r.next(FIRST.len() as u64) as usize],
            LAST[r.next(LAST.len() as u64) as usize],
        );
        let email = (r.next(10) > 0).then(|| {
            format!(
                "{}.{}{id}@example.com",
                first.to_lowercase(),
                last.to_lowercase().replace('\'', "")
            )
        });
        let signup =
            chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap() + chrono::Days::new(r.next(1800));
        sqlx::query("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(id)
            .bind(format!("{first} {last}"))
            .bind(email)
            .bind(COUNTRIES[r.next(COUNTRIES.len() as u64) as usize])
            .bind(signup.to_string())
            .bind(r.next(5) > 0)
            .bind(format!("{}.00", 500 + r.next(20) * 250))
            .execute(&mut *tx)
            .await?;
    }
    let mut prices = Vec::new();
    for id in 1..=60 {
        let price = 199 + r.next(20000);
        prices.push(price);
        sqlx::query("INSERT INTO products VALUES (?, ?, ?, ?, ?, ?)")
            .bind(id)
            .bind(format!(
                "{} {}",
                ADJECTIVES[r.next(10) as usize],
                NOUNS[r.next(10) as usize]
            ))
            .bind(CATEGORIES[r.next(CATEGORIES.len() as u64) as usize])
            .bind(format!("{}.{:02}", price / 100, price % 100))
            .bind((r.next(5000) as f64) / 100.0 + 0.05)
            .bind(r.next(12) == 0)
            .execute(&mut *tx)
            .await?;
    }
    for id in 1..=3000 {
        let at = chrono::NaiveDate::from_ymd_opt(2023, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + chrono::Duration::seconds((r.next(730 * 86400)) as i64);
        sqlx::query("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)")
            .bind(id)
            .bind(1 + r.next(250) as i64)
            .bind(at.format("%Y-%m-%d %H:%M:%S").to_string())
            .bind(STATUSES[r.next(STATUSES.len() as u64) as usize])
            .bind(format!("{}.{:02}", r.next(20), r.next(100)))
            .bind((r.next(8) == 0).then_some("gift wrap"))
            .execute(&mut *tx)
            .await?;
        for line in 1..=(1 + r.next(4)) {
            let product = 1 + r.next(60) as usize;
            let price = prices[product - 1];
            sqlx::query("INSERT INTO order_items VALUES (?, ?, ?, ?, ?)")
                .bind(id)
                .bind(line as i64)
                .bind(product as i64)
                .bind(1 + r.next(5) as i64)
                .bind(format!("{}.{:02}", price / 100, price % 100))
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await
}
