//! A SQL Server stand-in (hand-written, labelled as such: no SQL Server runs here): a TDS
//! 7.4 server on loopback that logs a client in and answers each statement with the result
//! registered for it. It speaks what the connector's driver (tiberius) sends: PRELOGIN
//! without encryption, LOGIN7 with SQL authentication, SQL batches and `sp_executesql`
//! RPCs, and it answers with the token stream of MS-TDS §2.2.7: COLMETADATA, ROW, DONE,
//! DONEINPROC/RETURNSTATUS/DONEPROC, ERROR, LOGINACK and ENVCHANGE, with the value encodings
//! of §2.2.5 for every type the connector maps. It runs no SQL: a test says which answer a
//! statement gets (by a piece of its text) and reads back the statements and parameters it
//! received.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Packet types (MS-TDS §2.2.3.1.1).
const SQL_BATCH: u8 = 0x01;
const RPC: u8 = 0x03;
const TABULAR_RESULT: u8 = 0x04;
const LOGIN7: u8 = 0x10;
const PRELOGIN: u8 = 0x12;
/// Packet status: end of message.
const EOM: u8 = 0x01;
/// The packet size both sides use until the client negotiates another.
const PACKET_SIZE: usize = 4096;

/// A column of a result: its name and SQL Server type.
#[derive(Debug, Clone)]
pub struct Col {
    pub name: String,
    pub ty: Ty,
}

/// The SQL Server types the stand-in encodes (TYPE_INFO, MS-TDS §2.2.5.4-6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ty {
    Bit,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Real,
    Float,
    Decimal(u8, u8),
    /// nvarchar(n) with n characters; `None` is nvarchar(max) (PLP).
    NVarChar(Option<u16>),
    /// varbinary(n); `None` is varbinary(max) (PLP).
    VarBinary(Option<u16>),
    Date,
    DateTime,
    SmallDateTime,
    DateTime2(u8),
    DateTimeOffset(u8),
    UniqueIdentifier,
}

/// A value as the test writes it; each encodes for the column types it fits.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Unscaled value (the column's scale applies).
    Decimal(i128),
    Text(String),
    Bytes(Vec<u8>),
    /// Days since 0001-01-01.
    Date(u32),
    /// datetime: days since 1900-01-01 and 1/300 s ticks.
    DateTime(i32, u32),
    /// smalldatetime: days since 1900-01-01 and minutes.
    SmallDateTime(u16, u16),
    /// datetime2 / datetimeoffset: days since 0001-01-01, time increments at the column's
    /// scale, and (datetimeoffset) the offset in minutes; the time is UTC.
    DateTime2(u32, u64, i16),
    Guid([u8; 16]),
}

/// What a statement gets.
#[derive(Debug, Clone)]
pub enum Answer {
    Rows(Vec<Col>, Vec<Vec<Val>>),
    /// A table's rows: a `SELECT <columns> FROM …` gets the columns it names (`[c]`,
    /// `… AS [c]`, or the constant `1` of a count), in its order, and the first `n` rows
    /// of a `TOP (n)`. Nothing else of the statement is evaluated.
    Table(Vec<Col>, Vec<Vec<Val>>),
    /// Success without a result set (`SET`, `BEGIN TRANSACTION`, …).
    Done,
    Error {
        number: i32,
        message: String,
    },
}

/// A statement the stand-in received: its text and its parameters as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub sql: String,
    pub params: Vec<String>,
}

#[derive(Default)]
struct State {
    answers: Vec<(String, Answer)>,
    received: Vec<Received>,
    logins: usize,
}

/// The running stand-in.
#[derive(Clone)]
pub struct TdsStandIn {
    pub port: u16,
    user: String,
    password: String,
    state: Arc<Mutex<State>>,
}

impl TdsStandIn {
    /// Listens on a free loopback port; logins succeed for `user`/`password` only (others
    /// get error 18456, as SQL Server's "Login failed").
    pub async fn start(user: &str, password: &str) -> TdsStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let stand_in = TdsStandIn {
            port: listener.local_addr().expect("addr").port(),
            user: user.to_owned(),
            password: password.to_owned(),
            state: Arc::default(),
        };
        let server = stand_in.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = server.serve(socket).await;
                });
            }
        });
        stand_in
    }

    /// Statements whose text contains `needle` get `answer` (the first registered match
    /// wins; a statement nothing matches gets error 208, "Invalid object name").
    pub fn on(&self, needle: &str, answer: Answer) -> &Self {
        self.state
            .lock()
            .unwrap()
            .answers
            .push((needle.to_owned(), answer));
        self
    }

    /// Every statement received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// How many logins succeeded.
    pub fn logins(&self) -> usize {
        self.state.lock().unwrap().logins
    }

    async fn serve(&self, mut socket: TcpStream) -> std::io::Result<()> {
        loop {
            let Some((kind, message)) = read_message(&mut socket).await? else {
                return Ok(());
            };
            let reply = match kind {
                PRELOGIN => prelogin_reply(),
                LOGIN7 => self.login(&message),
                SQL_BATCH => {
                    let sql = utf16(skip_all_headers(&message));
                    self.answer(sql, vec![], false)
                }
                RPC => match parse_rpc(skip_all_headers(&message)) {
                    Ok((sql, params)) => self.answer(sql, params, true),
                    Err(why) => error_tokens(8009, &format!("stand-in: bad RPC: {why}")),
                },
                other => error_tokens(8009, &format!("stand-in: packet type {other:#x}")),
            };
            write_message(&mut socket, &reply).await?;
        }
    }

    fn login(&self, message: &[u8]) -> Vec<u8> {
        let field = |offset_at: usize| -> Vec<u8> {
            let offset = u16::from_le_bytes([message[offset_at], message[offset_at + 1]]) as usize;
            let chars =
                u16::from_le_bytes([message[offset_at + 2], message[offset_at + 3]]) as usize;
            message
                .get(offset..offset + chars * 2)
                .unwrap_or_default()
                .to_vec()
        };
        let user = utf16(&field(40));
        // MS-TDS §2.2.6.4: each password byte had its nibbles swapped, then XOR 0xA5.
        let password: Vec<u8> = field(44)
            .into_iter()
            .map(|b| (b ^ 0xA5).rotate_left(4))
            .collect();
        let password = utf16(&password);
        let database = utf16(&field(68));
        if user != self.user || password != self.password {
            return error_tokens(18456, &format!("Login failed for user '{user}'."));
        }
        self.state.lock().unwrap().logins += 1;
        let mut out = Vec::new();
        env_change(
            &mut out,
            1,
            if database.is_empty() {
                "master"
            } else {
                &database
            },
            "master",
        );
        env_change(
            &mut out,
            4,
            &PACKET_SIZE.to_string(),
            &PACKET_SIZE.to_string(),
        );
        // LOGINACK: interface SQL_TSQL, TDS 7.4, program name and version (§2.2.7.14).
        let mut ack = vec![1u8];
        ack.extend(0x7400_0004u32.to_be_bytes());
        b_varchar(&mut ack, "stand-in");
        ack.extend([16, 0, 0, 0]);
        out.push(0xAD);
        out.extend((ack.len() as u16).to_le_bytes());
        out.extend(ack);
        done(&mut out, 0xFD, 0, 0);
        out
    }

    fn answer(&self, sql: String, params: Vec<String>, rpc: bool) -> Vec<u8> {
        let answer = {
            let mut state = self.state.lock().unwrap();
            state.received.push(Received {
                sql: sql.clone(),
                params,
            });
            state
                .answers
                .iter()
                .find(|(needle, _)| sql.contains(needle.as_str()))
                .map(|(_, a)| a.clone())
        };
        let mut out = Vec::new();
        match answer {
            None => {
                return error_tokens(
                    208,
                    &format!("Invalid object name (stand-in has no answer for: {sql})"),
                )
            }
            Some(Answer::Error { number, message }) => return error_tokens(number, &message),
            Some(Answer::Done) => done(&mut out, if rpc { 0xFF } else { 0xFD }, 0, 0),
            Some(Answer::Table(..)) if sql.contains(" WHERE ") || sql.contains(" ORDER BY ") => {
                return error_tokens(
                    8180,
                    "the SQL Server stand-in evaluates no WHERE or ORDER BY (a SQL Server does): query it without filters",
                )
            }
            Some(Answer::Rows(cols, rows)) => rows_tokens(&mut out, &cols, &rows, rpc),
            Some(Answer::Table(cols, rows)) => {
                let (cols, rows) = project(&sql, &cols, &rows);
                rows_tokens(&mut out, &cols, &rows, rpc)
            }
        }
        if rpc {
            out.push(0x79); // RETURNSTATUS 0
            out.extend(0i32.to_le_bytes());
            done(&mut out, 0xFE, 0, 0);
        }
        out
    }
}

/// COLMETADATA, a ROW per row, and DONE_COUNT (with DONE_MORE when a DONEPROC follows).
fn rows_tokens(out: &mut Vec<u8>, cols: &[Col], rows: &[Vec<Val>], rpc: bool) {
    col_metadata(out, cols);
    for row in rows {
        out.push(0xD1);
        for (c, v) in cols.iter().zip(row) {
            encode_value(out, c.ty, v);
        }
    }
    done(
        out,
        if rpc { 0xFF } else { 0xFD },
        if rpc { 0x11 } else { 0x10 },
        rows.len() as u64,
    );
}

/// The columns a `SELECT` names, and the rows it gets (see [`Answer::Table`]).
fn project(sql: &str, cols: &[Col], rows: &[Vec<Val>]) -> (Vec<Col>, Vec<Vec<Val>>) {
    let list = sql
        .strip_prefix("SELECT ")
        .and_then(|rest| rest.split_once(" FROM "))
        .map_or("", |(list, _)| list);
    let (top, list) = match list.strip_prefix("TOP (") {
        Some(rest) => {
            let (n, rest) = rest.split_once(") ").unwrap_or(("", rest));
            (n.parse::<usize>().ok(), rest)
        }
        None => (None, list),
    };
    // Items split at top-level commas (`CONVERT(DECIMAL(19,4), [price]) AS [price]`).
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in list.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                items.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(list[start..].trim());
    let picks: Vec<Option<usize>> = items
        .iter()
        .map(|item| {
            let name = item.rsplit_once(" AS ").map_or(*item, |(_, alias)| alias);
            let name = name.trim_start_matches('[').trim_end_matches(']');
            cols.iter().position(|c| c.name == name)
        })
        .collect();
    let out_cols = picks
        .iter()
        .map(|p| match p {
            Some(i) => cols[*i].clone(),
            None => Col {
                name: String::new(),
                ty: Ty::Int,
            },
        })
        .collect();
    let out_rows = rows
        .iter()
        .take(top.unwrap_or(usize::MAX))
        .map(|r| {
            picks
                .iter()
                .map(|p| p.map_or(Val::Int(1), |i| r[i].clone()))
                .collect()
        })
        .collect();
    (out_cols, out_rows)
}

async fn read_message(socket: &mut TcpStream) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut message = Vec::new();
    loop {
        let mut header = [0u8; 8];
        if let Err(e) = socket.read_exact(&mut header).await {
            return match e.kind() {
                std::io::ErrorKind::UnexpectedEof if message.is_empty() => Ok(None),
                _ => Err(e),
            };
        }
        let length = u16::from_be_bytes([header[2], header[3]]) as usize;
        let mut body = vec![0u8; length.saturating_sub(8)];
        socket.read_exact(&mut body).await?;
        message.extend(body);
        if header[1] & EOM != 0 {
            return Ok(Some((header[0], message)));
        }
    }
}

async fn write_message(socket: &mut TcpStream, data: &[u8]) -> std::io::Result<()> {
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(PACKET_SIZE - 8).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let mut packet = vec![TABULAR_RESULT, if last { EOM } else { 0 }];
        packet.extend(((chunk.len() + 8) as u16).to_be_bytes());
        packet.extend([0, 0, (i + 1) as u8, 0]);
        packet.extend(*chunk);
        socket.write_all(&packet).await?;
    }
    socket.flush().await
}

/// PRELOGIN answer (§2.2.6.5): version, and encryption not supported (the client is
/// configured with `encrypt=false`).
fn prelogin_reply() -> Vec<u8> {
    let options: [(u8, Vec<u8>); 3] = [
        (0x00, vec![16, 0, 0x10, 0x00, 0, 0]),
        (0x01, vec![0x02]),
        (0x04, vec![0]),
    ];
    let mut out = Vec::new();
    let mut offset = options.len() * 5 + 1;
    for (token, data) in &options {
        out.push(*token);
        out.extend((offset as u16).to_be_bytes());
        out.extend((data.len() as u16).to_be_bytes());
        offset += data.len();
    }
    out.push(0xFF);
    for (_, data) in options {
        out.extend(data);
    }
    out
}

fn skip_all_headers(message: &[u8]) -> &[u8] {
    let total = u32::from_le_bytes(message[..4].try_into().expect("4 bytes")) as usize;
    &message[total.min(message.len())..]
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

fn b_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().collect();
    out.push(units.len() as u8);
    for u in units {
        out.extend(u.to_le_bytes());
    }
}

fn us_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().collect();
    out.extend((units.len() as u16).to_le_bytes());
    for u in units {
        out.extend(u.to_le_bytes());
    }
}

fn env_change(out: &mut Vec<u8>, kind: u8, new: &str, old: &str) {
    let mut body = vec![kind];
    b_varchar(&mut body, new);
    b_varchar(&mut body, old);
    out.push(0xE3);
    out.extend((body.len() as u16).to_le_bytes());
    out.extend(body);
}

fn done(out: &mut Vec<u8>, token: u8, status: u16, count: u64) {
    out.push(token);
    out.extend(status.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(count.to_le_bytes());
}

/// ERROR (§2.2.7.10) then a DONE with DONE_ERROR.
fn error_tokens(number: i32, message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(number.to_le_bytes());
    body.push(1); // state
    body.push(16); // class: a user error
    us_varchar(&mut body, message);
    b_varchar(&mut body, "stand-in");
    b_varchar(&mut body, "");
    body.extend(1i32.to_le_bytes());
    let mut out = vec![0xAA];
    out.extend((body.len() as u16).to_le_bytes());
    out.extend(body);
    done(&mut out, 0xFD, 0x02, 0);
    out
}

/// The Latin1_General_CI_AS collation (LCID 0x0409, CI, AS, sort id 0).
const COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

fn col_metadata(out: &mut Vec<u8>, cols: &[Col]) {
    out.push(0x81);
    out.extend((cols.len() as u16).to_le_bytes());
    for c in cols {
        out.extend(0u32.to_le_bytes()); // UserType
        out.extend(0x0001u16.to_le_bytes()); // Flags: nullable
        type_info(out, c.ty);
        b_varchar(out, &c.name);
    }
}

fn decimal_len(precision: u8) -> u8 {
    match precision {
        1..=9 => 5,
        10..=19 => 9,
        20..=28 => 13,
        _ => 17,
    }
}

fn time_len(scale: u8) -> u8 {
    match scale {
        0..=2 => 3,
        3..=4 => 4,
        _ => 5,
    }
}

fn type_info(out: &mut Vec<u8>, ty: Ty) {
    match ty {
        Ty::Bit => out.extend([0x68, 1]),
        Ty::TinyInt => out.extend([0x26, 1]),
        Ty::SmallInt => out.extend([0x26, 2]),
        Ty::Int => out.extend([0x26, 4]),
        Ty::BigInt => out.extend([0x26, 8]),
        Ty::Real => out.extend([0x6D, 4]),
        Ty::Float => out.extend([0x6D, 8]),
        Ty::Decimal(p, s) => out.extend([0x6A, decimal_len(p), p, s]),
        Ty::NVarChar(n) => {
            out.push(0xE7);
            out.extend(n.map_or(0xFFFF, |n| n * 2).to_le_bytes());
            out.extend(COLLATION);
        }
        Ty::VarBinary(n) => {
            out.push(0xA5);
            out.extend(n.unwrap_or(0xFFFF).to_le_bytes());
        }
        Ty::Date => out.push(0x28),
        Ty::DateTime => out.extend([0x6F, 8]),
        Ty::SmallDateTime => out.extend([0x6F, 4]),
        Ty::DateTime2(s) => out.extend([0x2A, s]),
        Ty::DateTimeOffset(s) => out.extend([0x2B, s]),
        Ty::UniqueIdentifier => out.extend([0x24, 16]),
    }
}

/// A PLP value (§2.2.5.2.3): total length, chunks, terminator.
fn plp(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.extend(u64::MAX.to_le_bytes()),
        Some(b) => {
            out.extend((b.len() as u64).to_le_bytes());
            // Two chunks when there is something to split: clients must join them.
            let (first, second) = b.split_at(b.len() / 2);
            for chunk in [first, second] {
                if !chunk.is_empty() {
                    out.extend((chunk.len() as u32).to_le_bytes());
                    out.extend(chunk);
                }
            }
            out.extend(0u32.to_le_bytes());
        }
    }
}

fn encode_value(out: &mut Vec<u8>, ty: Ty, v: &Val) {
    let fixed = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.push(bytes.len() as u8);
        out.extend(bytes);
    };
    match (ty, v) {
        (Ty::NVarChar(None) | Ty::VarBinary(None), Val::Null) => plp(out, None),
        (Ty::NVarChar(Some(_)) | Ty::VarBinary(Some(_)), Val::Null) => {
            out.extend(0xFFFFu16.to_le_bytes())
        }
        (_, Val::Null) => out.push(0),
        (Ty::Bit, Val::Bool(b)) => fixed(out, &[*b as u8]),
        (Ty::TinyInt, Val::Int(x)) => fixed(out, &(*x as u8).to_le_bytes()),
        (Ty::SmallInt, Val::Int(x)) => fixed(out, &(*x as i16).to_le_bytes()),
        (Ty::Int, Val::Int(x)) => fixed(out, &(*x as i32).to_le_bytes()),
        (Ty::BigInt, Val::Int(x)) => fixed(out, &x.to_le_bytes()),
        (Ty::Real, Val::Float(x)) => fixed(out, &(*x as f32).to_le_bytes()),
        (Ty::Float, Val::Float(x)) => fixed(out, &x.to_le_bytes()),
        (Ty::Decimal(p, _), Val::Decimal(x)) => {
            let len = decimal_len(p) as usize;
            let mut bytes = vec![u8::from(*x >= 0)];
            bytes.extend(&x.unsigned_abs().to_le_bytes()[..len - 1]);
            fixed(out, &bytes);
        }
        (Ty::NVarChar(n), Val::Text(s)) => {
            let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
            match n {
                Some(_) => {
                    out.extend((bytes.len() as u16).to_le_bytes());
                    out.extend(bytes);
                }
                None => plp(out, Some(&bytes)),
            }
        }
        (Ty::VarBinary(n), Val::Bytes(b)) => match n {
            Some(_) => {
                out.extend((b.len() as u16).to_le_bytes());
                out.extend(b);
            }
            None => plp(out, Some(b)),
        },
        (Ty::Date, Val::Date(days)) => fixed(out, &days.to_le_bytes()[..3]),
        (Ty::DateTime, Val::DateTime(days, ticks)) => {
            let mut b = days.to_le_bytes().to_vec();
            b.extend(ticks.to_le_bytes());
            fixed(out, &b);
        }
        (Ty::SmallDateTime, Val::SmallDateTime(days, minutes)) => {
            let mut b = days.to_le_bytes().to_vec();
            b.extend(minutes.to_le_bytes());
            fixed(out, &b);
        }
        (Ty::DateTime2(s), Val::DateTime2(days, increments, _)) => {
            let mut b = increments.to_le_bytes()[..time_len(s) as usize].to_vec();
            b.extend(&days.to_le_bytes()[..3]);
            fixed(out, &b);
        }
        (Ty::DateTimeOffset(s), Val::DateTime2(days, increments, offset)) => {
            let mut b = increments.to_le_bytes()[..time_len(s) as usize].to_vec();
            b.extend(&days.to_le_bytes()[..3]);
            b.extend(offset.to_le_bytes());
            fixed(out, &b);
        }
        (Ty::UniqueIdentifier, Val::Guid(g)) => fixed(out, g),
        (ty, v) => panic!("stand-in test data: {v:?} is not a {ty:?} value"),
    }
}

/// An `sp_executesql` RPC (§2.2.6.6): the statement, and the other parameters as text.
fn parse_rpc(body: &[u8]) -> Result<(String, Vec<String>), String> {
    let mut r = Reader { b: body, at: 0 };
    let name_len = r.u16()?;
    if name_len == 0xFFFF {
        let id = r.u16()?;
        if id != 10 {
            return Err(format!("procedure id {id} (only sp_executesql, 10)"));
        }
    } else {
        r.take(name_len as usize * 2)?;
    }
    r.u16()?; // option flags
    let mut values = Vec::new();
    while r.at < r.b.len() {
        let name_len = r.u8()? as usize;
        r.take(name_len * 2)?; // name
        r.u8()?; // status flags
        values.push(r.value()?);
    }
    let mut values = values.into_iter();
    let sql = values.next().ok_or("no statement")?;
    // The second parameter declares the others (`@P1 int, …`): kept with them.
    Ok((sql, values.collect()))
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let s = self.b.get(self.at..self.at + n).ok_or("truncated RPC")?;
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn le(&mut self, n: usize) -> Result<u128, String> {
        let mut v = [0u8; 16];
        v[..n].copy_from_slice(self.take(n)?);
        Ok(u128::from_le_bytes(v))
    }

    /// One parameter: TYPE_INFO then its value, rendered as text (`NULL` for null).
    fn value(&mut self) -> Result<String, String> {
        let ty = self.u8()?;
        Ok(match ty {
            0x26 | 0x68 | 0x6D | 0x6F | 0x24 => {
                self.u8()?; // max length
                let len = self.u8()? as usize;
                if len == 0 {
                    return Ok("NULL".into());
                }
                let raw = self.le(len)?;
                match (ty, len) {
                    (0x26, 1) => (raw as u8).to_string(),
                    (0x26, 2) => (raw as u16 as i16).to_string(),
                    (0x26, 4) => (raw as u32 as i32).to_string(),
                    (0x26, _) => (raw as u64 as i64).to_string(),
                    (0x68, _) => (raw != 0).to_string(),
                    (0x6D, 4) => f32::from_bits(raw as u32).to_string(),
                    (0x6D, _) => f64::from_bits(raw as u64).to_string(),
                    (0x6F, _) => format!("datetime({raw:#x})"),
                    _ => format!("guid({raw:#x})"),
                }
            }
            0x6A | 0x6C => {
                self.u8()?;
                let (_precision, scale) = (self.u8()?, self.u8()?);
                let len = self.u8()? as usize;
                if len == 0 {
                    return Ok("NULL".into());
                }
                let positive = self.u8()? == 1;
                let magnitude = self.le(len - 1)?;
                let digits = format!("{magnitude:0>width$}", width = scale as usize + 1);
                let (int, frac) = digits.split_at(digits.len() - scale as usize);
                let sign = if positive { "" } else { "-" };
                match scale {
                    0 => format!("{sign}{int}"),
                    _ => format!("{sign}{int}.{frac}"),
                }
            }
            0xE7 | 0xA5 => {
                let max = self.u16()?;
                if ty == 0xE7 {
                    self.take(5)?; // collation
                }
                let bytes = if max == 0xFFFF {
                    let total = self.le(8)? as u64;
                    if total == u64::MAX {
                        return Ok("NULL".into());
                    }
                    let mut all = Vec::new();
                    loop {
                        let chunk = self.le(4)? as usize;
                        if chunk == 0 {
                            break;
                        }
                        all.extend(self.take(chunk)?);
                    }
                    all
                } else {
                    let len = self.u16()?;
                    if len == 0xFFFF {
                        return Ok("NULL".into());
                    }
                    self.take(len as usize)?.to_vec()
                };
                if ty == 0xE7 {
                    utf16(&bytes)
                } else {
                    format!(
                        "0x{}",
                        bytes.iter().map(|b| format!("{b:02X}")).collect::<String>()
                    )
                }
            }
            0x28 => {
                let len = self.u8()? as usize;
                if len == 0 {
                    return Ok("NULL".into());
                }
                format!("date({})", self.le(3)?)
            }
            0x29..=0x2B => {
                let scale = self.u8()?;
                let len = self.u8()? as usize;
                if len == 0 {
                    return Ok("NULL".into());
                }
                let time = self.le(time_len(scale) as usize)?;
                let rest = len - time_len(scale) as usize;
                let date = if rest >= 3 { self.le(3)? } else { 0 };
                if rest == 5 {
                    self.take(2)?;
                }
                format!("datetime2(days {date}, increments {time} at scale {scale})")
            }
            other => return Err(format!("parameter type {other:#x}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PRELOGIN message's options (token, data), read by the offsets of its option table.
    fn prelogin_options(message: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut options = Vec::new();
        for entry in message.chunks(5) {
            if entry[0] == 0xFF {
                break;
            }
            let offset = u16::from_be_bytes([entry[1], entry[2]]) as usize;
            let len = u16::from_be_bytes([entry[3], entry[4]]) as usize;
            options.push((entry[0], message[offset..offset + len].to_vec()));
        }
        options
    }

    /// MS-TDS §4.1, "Pre-Login Request": the specification's own example packet, framed and
    /// read as the stand-in reads a client's; its answer is laid out by the same rules.
    #[tokio::test]
    async fn the_specifications_prelogin_example_is_read_and_answered_in_its_layout() {
        let example: [u8; 52] = [
            0x12, 0x01, 0x00, 0x34, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x15, 0x00, 0x06, 0x01,
            0x00, 0x1B, 0x00, 0x01, 0x02, 0x00, 0x1C, 0x00, 0x0C, 0x03, 0x00, 0x28, 0x00, 0x04,
            0xFF, 0x08, 0x00, 0x01, 0x55, 0x00, 0x00, 0x00, 0x4D, 0x53, 0x53, 0x51, 0x4C, 0x53,
            0x65, 0x72, 0x76, 0x65, 0x72, 0x00, 0x80, 0x19, 0x00, 0x00,
        ];
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(&example).await.unwrap();
        });
        let (mut socket, _) = listener.accept().await.unwrap();
        let (kind, message) = read_message(&mut socket).await.unwrap().unwrap();
        client.await.unwrap();
        assert_eq!((kind, message.len()), (PRELOGIN, 0x34 - 8));
        assert_eq!(
            prelogin_options(&message),
            [
                (0x00, vec![0x08, 0x00, 0x01, 0x55, 0x00, 0x00]), // VERSION 8.0.341
                (0x01, vec![0x00]),                               // ENCRYPT_OFF
                (0x02, b"MSSQLServer\0".to_vec()),                // INSTOPT
                (0x03, vec![0x80, 0x19, 0x00, 0x00]),             // THREADID
            ]
        );
        let reply = prelogin_options(&prelogin_reply());
        assert_eq!(reply[1], (0x01, vec![0x02]), "ENCRYPT_NOT_SUP");
        assert_eq!(reply[0].1.len(), 6, "VERSION is 6 bytes");
    }

    /// MS-TDS §4.x-style vectors, written from the specification's definitions.
    #[test]
    fn encodings_follow_the_specification() {
        // DONE (§2.2.7.6): token, status DONE_COUNT, CurCmd, DoneRowCount (8 bytes, LE).
        let mut out = Vec::new();
        done(&mut out, 0xFD, 0x10, 3);
        assert_eq!(out, [0xFD, 0x10, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
        // decimal(5,2) -123.45: length 5, sign 0, magnitude 12345 LE in 4 bytes.
        let mut out = Vec::new();
        encode_value(&mut out, Ty::Decimal(5, 2), &Val::Decimal(-12345));
        assert_eq!(out, [5, 0, 0x39, 0x30, 0, 0]);
        // datetime2(7) 0001-01-01 00:00:00.0000001: 5 time bytes, 3 date bytes.
        let mut out = Vec::new();
        encode_value(&mut out, Ty::DateTime2(7), &Val::DateTime2(0, 1, 0));
        assert_eq!(out, [8, 1, 0, 0, 0, 0, 0, 0, 0]);
        // nvarchar(max) "ab" as PLP: total 4 bytes, chunks of 2, terminator.
        let mut out = Vec::new();
        encode_value(&mut out, Ty::NVarChar(None), &Val::Text("ab".into()));
        assert_eq!(
            out,
            [4, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, b'a', 0, 2, 0, 0, 0, b'b', 0, 0, 0, 0, 0]
        );
        // A password byte: 'a' (0x61) swapped to 0x16, XOR 0xA5 → 0xB3 on the wire.
        assert_eq!((0xB3u8 ^ 0xA5).rotate_left(4), 0x61);
    }
}
