//! The `dragoman` command line (SPEC §2): parses arguments, loads the configuration, runs one
//! command, and maps failures to exit codes (0 ok, 1 runtime failure, 2 usage, 78 config).
//!
//! Thin: every command calls into the library. Errors are printed once, here, on one line with
//! their whole cause chain.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::{Args, Parser, Subcommand};

use dragoman::app::App;
use dragoman::config::{Config, ConfigError, DEFAULT_DATA_DIR};
use dragoman::store::RequestDetail;

const EX_CONFIG: u8 = 78;

#[derive(Parser)]
#[command(
    name = "dragoman",
    version,
    about = "Dispatches interpreters to Zoom meetings from emailed invitations"
)]
struct Cli {
    /// Configuration file (default: the embedded default under --data-dir).
    #[arg(long, global = true, env = "DRAGOMAN_CONFIG")]
    config: Option<PathBuf>,
    /// Where the embedded default keeps its database, spool and outbox.
    #[arg(long, global = true, env = "DRAGOMAN_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole story on the embedded default, no servers needed.
    Demo {
        /// Print one JSON object per step instead of prose.
        #[arg(long)]
        json: bool,
    },
    /// The daemon: ingest, outbox worker and HTTP until SIGTERM.
    Run,
    /// Validate the configuration: exit 0 when valid, 78 naming every problem otherwise.
    CheckConfig,
    /// Print a fully commented example configuration.
    PrintConfig,
    /// Apply database migrations.
    Migrate,
    /// Parse invitation files (.eml, text, HTML or .ics) and print what was found.
    Parse {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Counts of requests and offers by state, outbox backlog, mailboxes and presence.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Roster management.
    #[command(subcommand)]
    Interpreter(InterpreterCmd),
    /// Requests.
    #[command(subcommand)]
    Request(RequestCmd),
    /// Connecting Zoom users: issue connect links, list who is connected.
    #[command(subcommand)]
    Zoom(ZoomCmd),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout; with --dir, write it and one page per
    /// subcommand (dragoman-run.1, …) into that directory instead.
    Man {
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// Pipe mode for MTAs: commit the message on stdin for envelope recipient --to. Exits 0
    /// once committed, 75 (EX_TEMPFAIL: the MTA retries) when it could not be.
    Deliver {
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum InterpreterCmd {
    /// Add an interpreter.
    Add(AddArgs),
    /// List the roster.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one interpreter.
    Show {
        id_or_email: String,
        #[arg(long)]
        json: bool,
    },
    /// Mark online for a while (a presence lease that expires).
    Online {
        id_or_email: String,
        /// How long, e.g. 2h, 90m (default: [matching] presence_hours).
        #[arg(long = "for")]
        duration: Option<String>,
    },
    /// Mark offline now.
    Offline { id_or_email: String },
    /// Add every row of a CSV file (header: name,email,pairs[,timezone,skills,availability,
    /// max_day_minutes,max_week_minutes]); reports each bad row with its line number.
    Import { file: PathBuf },
    /// Remove from the roster (kept for the record when they had offers; never matched again).
    Remove { id_or_email: String },
}

#[derive(Args)]
struct AddArgs {
    #[arg(long)]
    name: String,
    #[arg(long)]
    email: String,
    /// A directed pair FROM:TO, e.g. es:en (es<>en for both directions); repeat for more.
    #[arg(long = "pair", required = true)]
    pairs: Vec<String>,
    /// The interpreter's IANA time zone (times in their emails are shown in it).
    #[arg(long, default_value = "UTC")]
    timezone: String,
    /// A skill, optionally with its expiry: medical or medical:2027-06-30; repeat for more.
    #[arg(long = "skill")]
    skills: Vec<String>,
    /// Weekly availability in their zone, e.g. "mon-fri 09:00-17:00; sat 10:00-14:00".
    #[arg(long)]
    availability: Option<String>,
    /// At most this many assigned minutes per day.
    #[arg(long)]
    max_day_minutes: Option<i64>,
    /// At most this many assigned minutes per week.
    #[arg(long)]
    max_week_minutes: Option<i64>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum RequestCmd {
    /// List requests.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one request with its offers and attendance.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a request; pending offers are withdrawn.
    Cancel { id: i64 },
    /// The matching decision: every interpreter considered, the rule that excluded them or
    /// their score components, the wave and offer time, and what happened.
    Explain {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ZoomCmd {
    /// Print the link (`{public_url}/oauth/zoom/start?link=…`, valid 7 days) with which one
    /// interpreter or requestor connects their Zoom user; --send also emails it to them
    /// through the outbox. Needs [zoom] oauth_client_id, oauth_client_secret and token_key_file.
    ConnectLink(ConnectLinkArgs),
    /// List the connected Zoom users (person, Zoom user id and email, when); never a token.
    Connections {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("person").required(true).args(["interpreter", "requestor"])))]
struct ConnectLinkArgs {
    /// The interpreter (id or email): their Zoom user is used for `zak` joins and attributes
    /// their attendance when names are hidden.
    #[arg(long)]
    interpreter: Option<String>,
    /// The requestor's email: their Zoom user vouches for `obf` joins and reads the
    /// participant report of their meetings.
    #[arg(long)]
    requestor: Option<String>,
    /// Also email the link to them (queued in the outbox; the daemon's worker sends it).
    #[arg(long)]
    send: bool,
    /// Print one JSON object (person, email, url, expires_at, queued_message_id) instead.
    #[arg(long)]
    json: bool,
}

/// A failure with its exit code.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        match error.downcast_ref::<ConfigError>() {
            Some(_) => Failure {
                code: EX_CONFIG,
                error,
            },
            None => Failure { code: 1, error },
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(Failure { code, error }) => {
            if code == EX_CONFIG {
                eprintln!("error: invalid configuration: {error}");
            } else {
                eprintln!("error: {error:#}");
            }
            ExitCode::from(code)
        }
    }
}

fn load_config(cli: &Cli) -> Result<Config, Failure> {
    Config::load(cli.config.as_deref(), &cli.data_dir, std::env::vars())
        .map_err(|e| Failure::from(anyhow::Error::new(e)))
}

async fn open(cli: &Cli) -> Result<App, Failure> {
    let config = load_config(cli)?;
    Ok(App::open(config).await?)
}

async fn dispatch(cli: Cli) -> Result<u8, Failure> {
    match &cli.command {
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "dragoman", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man { dir: Some(dir) } => {
            let cmd = <Cli as clap::CommandFactory>::command();
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(cmd, dir))
                .with_context(|| format!("writing the man pages into {}", dir.display()))?;
            Ok(0)
        }
        Command::Man { dir: None } => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("rendering the man page")?;
            std::io::stdout()
                .write_all(&out)
                .context("writing the man page")?;
            Ok(0)
        }
        Command::PrintConfig => {
            print!("{}", dragoman::config::EXAMPLE);
            Ok(0)
        }
        Command::CheckConfig => {
            let config = load_config(&cli)?;
            println!(
                "{}: valid ({} mailbox(es), {} route(s), database {})",
                config
                    .source
                    .as_deref()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "embedded default".into()),
                config.mailboxes.len(),
                config.routes.len(),
                config.database.url.split(':').next().unwrap_or("?")
            );
            Ok(0)
        }
        Command::Parse { files, json } => {
            dragoman::telemetry::init_quiet();
            Ok(parse_files(files, *json)?)
        }
        Command::Demo { json } => {
            dragoman::telemetry::init_at("error");
            let ok = dragoman::demo::run(&cli.data_dir, *json).await?;
            Ok(if ok { 0 } else { 1 })
        }
        Command::Run => {
            let config = load_config(&cli)?;
            dragoman::telemetry::init(&config.log);
            dragoman::app::run_daemon(config).await?;
            Ok(0)
        }
        Command::Migrate => {
            dragoman::telemetry::init_quiet();
            let mut config = load_config(&cli)?;
            config.database.migrate_on_start = false;
            let app = App::open(config).await?;
            app.store.migrate().await.context("applying migrations")?;
            println!("migrations applied");
            Ok(0)
        }
        Command::Status { json } => {
            dragoman::telemetry::init_quiet();
            let app = open(&cli).await?;
            status(&app, *json).await?;
            Ok(0)
        }
        Command::Interpreter(cmd) => {
            dragoman::telemetry::init_quiet();
            let app = open(&cli).await?;
            interpreter(&app, cmd).await?;
            Ok(0)
        }
        Command::Request(cmd) => {
            dragoman::telemetry::init_quiet();
            let app = open(&cli).await?;
            request(&app, cmd).await
        }
        Command::Zoom(cmd) => {
            dragoman::telemetry::init_quiet();
            let app = open(&cli).await?;
            zoom(&app, cmd).await
        }
        Command::Deliver { to } => {
            dragoman::telemetry::init_quiet();
            Ok(deliver(&cli, to).await)
        }
    }
}

/// `deliver`: anything but a commit is EX_TEMPFAIL, so the MTA keeps the message.
async fn deliver(cli: &Cli, to: &str) -> u8 {
    use dragoman::ingest::deliver::{self, EX_TEMPFAIL};
    let result = async {
        let config = load_config(cli).map_err(|f| f.error)?;
        let (raw, size) =
            deliver::read_message(std::io::stdin().lock(), config.limits.max_message_bytes)
                .context("reading the message from stdin")?;
        let app = App::open(config).await.context("opening the database")?;
        deliver::deliver(&app.offers, &app.config, to, &raw, size, Utc::now()).await
    }
    .await;
    match result {
        Ok(outcome) => {
            eprintln!("dragoman deliver: committed ({outcome:?})");
            0
        }
        Err(e) => {
            eprintln!("dragoman deliver: not committed, try again later: {e:#}");
            EX_TEMPFAIL
        }
    }
}

fn parse_files(files: &[PathBuf], json: bool) -> anyhow::Result<u8> {
    let mut all_ok = true;
    let mut out = std::io::stdout().lock();
    for file in files {
        let label = file.display().to_string();
        let result = match std::fs::read(file) {
            Ok(bytes) => dragoman::invitation::parse(&bytes),
            Err(e) => Err(dragoman::invitation::NotAnInvitation::Malformed(format!(
                "cannot read the file: {e}"
            ))),
        };
        all_ok &= result.is_ok();
        let value = dragoman::invitation::to_json(&label, &result);
        if json {
            writeln!(out, "{}", serde_json::to_string(&value)?)?;
        } else {
            writeln!(out, "{label}:")?;
            if let Some(obj) = value.as_object() {
                for (k, v) in obj.iter().filter(|(k, _)| *k != "file") {
                    let shown = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    writeln!(out, "  {k:<11} {shown}")?;
                }
            }
        }
    }
    Ok(if all_ok { 0 } else { 1 })
}

async fn find(app: &App, id_or_email: &str) -> anyhow::Result<dragoman::domain::Interpreter> {
    app.store.find_interpreter(id_or_email).await?.with_context(|| {
        format!("no interpreter {id_or_email:?}: see `dragoman interpreter list` for ids and emails")
    })
}

fn print_interpreter(i: &dragoman::domain::Interpreter, now: chrono::DateTime<Utc>) {
    let pairs: Vec<String> = i
        .pairs
        .iter()
        .map(|p| format!("{}:{}", p.from, p.to))
        .collect();
    let presence = match i.presence_until {
        Some(u) if u > now => format!("online until {}", u.format("%Y-%m-%d %H:%M UTC")),
        _ => "offline".into(),
    };
    println!(
        "{:>5}  {:<24} {:<32} {:<16} {}",
        i.id,
        i.name,
        i.email,
        pairs.join(","),
        presence
    );
}

fn interpreter_json(
    i: &dragoman::domain::Interpreter,
    now: chrono::DateTime<Utc>,
) -> serde_json::Value {
    serde_json::json!({
        "id": i.id,
        "name": i.name,
        "email": i.email,
        "pairs": i.pairs.iter().map(|p| format!("{}:{}", p.from, p.to)).collect::<Vec<_>>(),
        "timezone": i.timezone,
        "online": i.is_online(now),
        "presence_until": i.presence_until,
    })
}

async fn interpreter(app: &App, cmd: &InterpreterCmd) -> anyhow::Result<()> {
    let now = Utc::now();
    match cmd {
        InterpreterCmd::Add(a) => {
            let text = dragoman::roster::EntryText {
                name: a.name.clone(),
                email: a.email.clone(),
                pairs: a.pairs.join(" "),
                timezone: a.timezone.clone(),
                skills: a.skills.join(" "),
                availability: a.availability.clone().unwrap_or_default(),
                max_day_minutes: a.max_day_minutes.map(|m| m.to_string()).unwrap_or_default(),
                max_week_minutes: a
                    .max_week_minutes
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
            };
            let entry = text.check().map_err(|e| anyhow::anyhow!("--{e}"))?;
            let i = dragoman::roster::add(app.store.as_ref(), &entry, now)
                .await
                .context("adding the interpreter")?;
            if a.json {
                println!("{}", interpreter_json(&i, now));
            } else {
                println!("added interpreter {} ({})", i.id, i.email);
            }
        }
        InterpreterCmd::Import { file } => {
            let f =
                std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let report = dragoman::roster::import_csv(app.store.as_ref(), f, now, |n| {
                eprintln!("… {n} rows read");
            })
            .await?;
            for (line, error) in &report.errors {
                eprintln!("{}:{line}: {error}", file.display());
            }
            println!(
                "imported {} interpreter(s); {} row(s) with errors",
                report.added,
                report.errors.len()
            );
            if !report.errors.is_empty() {
                anyhow::bail!(
                    "{} row(s) were not imported: fix the lines named above and import those rows again",
                    report.errors.len()
                );
            }
        }
        InterpreterCmd::Remove { id_or_email } => {
            let i = find(app, id_or_email).await?;
            match app.store.remove_interpreter(i.id, now).await? {
                dragoman::store::Removed::Deleted => println!("interpreter {} removed", i.id),
                dragoman::store::Removed::Retired => println!(
                    "interpreter {} removed from matching (kept for the record of their offers)",
                    i.id
                ),
            }
        }
        InterpreterCmd::List { json } => {
            let all = app.store.list_interpreters().await?;
            if *json {
                let v: Vec<_> = all.iter().map(|i| interpreter_json(i, now)).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "{:>5}  {:<24} {:<32} {:<16} presence",
                    "id", "name", "email", "pairs"
                );
                for i in &all {
                    print_interpreter(i, now);
                }
            }
        }
        InterpreterCmd::Show { id_or_email, json } => {
            let i = find(app, id_or_email).await?;
            let p = app.store.interpreter_profile(i.id).await?;
            let skills: Vec<String> = p
                .skills
                .iter()
                .map(|s| match s.expires_at {
                    Some(e) => format!("{} (until {})", s.name, e.format("%Y-%m-%d")),
                    None => s.name.clone(),
                })
                .collect();
            if *json {
                let mut v = interpreter_json(&i, now);
                v["skills"] = serde_json::json!(p.skills);
                v["availability"] = serde_json::json!(p.availability.as_ref().map(|a| a.as_str()));
                v["max_day_minutes"] = serde_json::json!(p.max_day_minutes);
                v["max_week_minutes"] = serde_json::json!(p.max_week_minutes);
                v["paused_at"] = serde_json::json!(p.paused_at);
                v["unanswered"] = serde_json::json!(p.unanswered);
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_interpreter(&i, now);
                println!(
                    "       skills:       {}",
                    if skills.is_empty() {
                        "none".into()
                    } else {
                        skills.join(", ")
                    }
                );
                println!(
                    "       availability: {}",
                    p.availability.as_ref().map_or("any time", |a| a.as_str())
                );
                println!(
                    "       caps:         {} min/day, {} min/week",
                    p.max_day_minutes.map_or("no cap".into(), |m| m.to_string()),
                    p.max_week_minutes
                        .map_or("no cap".into(), |m| m.to_string())
                );
                if let Some(at) = p.paused_at {
                    println!("       PAUSED since {} after {} unanswered offers (going online un-pauses)", at.format("%Y-%m-%d %H:%M UTC"), p.unanswered);
                }
            }
        }
        InterpreterCmd::Online {
            id_or_email,
            duration,
        } => {
            let i = find(app, id_or_email).await?;
            let length = match duration {
                Some(d) => humantime::parse_duration(d)
                    .map_err(|e| anyhow::anyhow!("--for {d:?}: {e} (write it like 2h or 90m)"))?,
                None => {
                    std::time::Duration::from_secs(app.config.matching.presence_hours as u64 * 3600)
                }
            };
            let until = now + chrono::Duration::from_std(length).context("--for is too long")?;
            let i = app.store.set_presence(i.id, Some(until)).await?;
            println!(
                "interpreter {} is online until {}",
                i.id,
                until.format("%Y-%m-%d %H:%M UTC")
            );
        }
        InterpreterCmd::Offline { id_or_email } => {
            let i = find(app, id_or_email).await?;
            app.store.set_presence(i.id, None).await?;
            println!("interpreter {} is offline", i.id);
        }
    }
    Ok(())
}

/// The JSON of `request show` (SPEC §2, issue #2 item 11; attendance: issue #7).
///
/// `attendance` lists the interpreters' merged intervals (rejoins merged, with `minutes`) and
/// then the unattributed rows as recorded; `attended_minutes` is what agencies bill;
/// `attendance_by_interpreter` adds late-join / early-leave flags against the meeting's real
/// start (`meeting.started`, else the scheduled start) and end (`meeting.ended`).
pub fn request_json(d: &RequestDetail) -> serde_json::Value {
    let r = &d.request;
    let summary = dragoman::zoom::attendance::summarize(
        &d.attendance,
        d.meeting_started_at.or(r.meeting.start),
        d.meeting_ended_at,
    );
    let mut attendance: Vec<serde_json::Value> = summary
        .interpreters
        .iter()
        .flat_map(|i| i.intervals.iter())
        .map(|iv| {
            serde_json::json!({
                "interpreter": iv.interpreter,
                "method": iv.method,
                "joined_at": iv.joined_at,
                "left_at": iv.left_at,
                "minutes": iv.minutes,
            })
        })
        .collect();
    attendance.extend(
        d.attendance
            .iter()
            .filter(|a| a.interpreter.is_none())
            .map(|a| {
                serde_json::json!({
                    "interpreter": a.interpreter,
                    "method": a.method,
                    "user_name": a.user_name,
                    "joined_at": a.joined_at,
                    "left_at": a.left_at,
                })
            }),
    );
    serde_json::json!({
        "id": r.id,
        "state": r.state,
        "meeting_id": r.meeting.meeting_id,
        "host": r.meeting.host,
        "kind": r.meeting.kind,
        "topic": r.meeting.topic,
        "start": r.meeting.start,
        "pair": format!("{}:{}", r.pair.from, r.pair.to),
        "requestor": r.requestor,
        "route_address": r.route_address,
        "created_at": r.created_at,
        "assigned_interpreter": d.assigned_interpreter,
        "join_mode": d.join_mode,
        "join_mode_note": d.join_mode_note,
        "offers": d.offers,
        "meeting_started_at": d.meeting_started_at,
        "meeting_ended_at": d.meeting_ended_at,
        "attendance": attendance,
        "attended_minutes": summary.attended_minutes,
        "attendance_by_interpreter": summary.interpreters.iter().map(|i| serde_json::json!({
            "interpreter": i.interpreter,
            "minutes": i.minutes,
            "late_join": i.late_join,
            "early_leave": i.early_leave,
        })).collect::<Vec<_>>(),
    })
}

async fn request(app: &App, cmd: &RequestCmd) -> Result<u8, Failure> {
    match cmd {
        RequestCmd::List { json } => {
            let all = app
                .store
                .list_requests()
                .await
                .map_err(anyhow::Error::from)?;
            if *json {
                let v: Vec<_> = all
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "id": r.id, "state": r.state, "meeting_id": r.meeting.meeting_id,
                            "topic": r.meeting.topic, "start": r.meeting.start,
                            "pair": format!("{}:{}", r.pair.from, r.pair.to), "requestor": r.requestor,
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&v).map_err(anyhow::Error::from)?
                );
            } else {
                println!(
                    "{:>5}  {:<10} {:<12} {:<8} {:<22} topic",
                    "id", "state", "meeting", "pair", "start (UTC)"
                );
                for r in &all {
                    println!(
                        "{:>5}  {:<10} {:<12} {:<8} {:<22} {}",
                        r.id,
                        r.state.as_str(),
                        r.meeting.meeting_id.as_deref().unwrap_or("-"),
                        format!("{}:{}", r.pair.from, r.pair.to),
                        r.meeting
                            .start
                            .map(|s| s.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_else(|| "no fixed time".into()),
                        r.meeting.topic.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(0)
        }
        RequestCmd::Show { id, json } => {
            let Some(d) = app
                .store
                .request_detail(*id)
                .await
                .map_err(anyhow::Error::from)?
            else {
                return Err(anyhow::anyhow!("no request {id}: see `dragoman request list`").into());
            };
            let v = request_json(&d);
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&v).map_err(anyhow::Error::from)?
                );
            } else {
                let r = &d.request;
                println!("request {} — {}", r.id, r.state);
                println!(
                    "  meeting     {} ({}, {})",
                    r.meeting.meeting_id.as_deref().unwrap_or("-"),
                    r.meeting.kind,
                    r.meeting.host
                );
                println!(
                    "  topic       {}",
                    r.meeting.topic.as_deref().unwrap_or("-")
                );
                println!(
                    "  start       {}",
                    r.meeting
                        .start
                        .map(|s| s.to_rfc3339())
                        .unwrap_or_else(|| "no fixed time".into())
                );
                println!("  pair        {}", r.pair);
                println!("  requestor   {}", r.requestor);
                println!(
                    "  assigned    {}",
                    d.assigned_interpreter
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "nobody yet".into())
                );
                for o in &d.offers {
                    println!(
                        "  offer {:>4}  interpreter {:>4}  {}",
                        o.offer_id, o.interpreter, o.state
                    );
                }
                for a in &d.attendance {
                    println!(
                        "  attendance  interpreter {:?} by {} joined {} left {}",
                        a.interpreter,
                        a.method.as_str(),
                        a.joined_at
                            .map(|t| t.to_rfc3339())
                            .unwrap_or_else(|| "-".into()),
                        a.left_at
                            .map(|t| t.to_rfc3339())
                            .unwrap_or_else(|| "-".into())
                    );
                }
            }
            Ok(0)
        }
        RequestCmd::Explain { id, json } => {
            let rows = app
                .store
                .request_explain(*id)
                .await
                .map_err(anyhow::Error::from)?;
            if rows.is_empty() {
                return Err(anyhow::anyhow!("request {id} has no matching decisions: it does not exist or was recorded before matching kept them (see `dragoman request show {id}`)").into());
            }
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).map_err(anyhow::Error::from)?
                );
            } else {
                print!("{}", dragoman::offers::explain_text(&rows));
                // Which join mode the assignment got, and why (`request show --json` has it too).
                let detail = app
                    .store
                    .request_detail(*id)
                    .await
                    .map_err(anyhow::Error::from)?;
                if let Some(d) = detail {
                    println!(
                        "{}",
                        dragoman::zoom::join_mode::explain_line(
                            d.join_mode.as_deref(),
                            d.join_mode_note.as_deref()
                        )
                    );
                }
            }
            Ok(0)
        }
        RequestCmd::Cancel { id } => {
            // Tells the requestor and the assigned interpreter, in the cancel transaction.
            let done = app.offers.cancel(*id, Utc::now()).await?;
            if done {
                println!("request {id} cancelled");
                Ok(0)
            } else {
                Err(anyhow::anyhow!("request {id} is already finished or does not exist: see `dragoman request show {id}`").into())
            }
        }
    }
}

/// `zoom connect-link` and `zoom connections`.
async fn zoom(app: &App, cmd: &ZoomCmd) -> Result<u8, Failure> {
    use dragoman::domain::EmailAddress;
    use dragoman::store::ZoomPerson;
    use dragoman::zoom::connect::{issue_link, send_link, ConnectError};
    match cmd {
        ZoomCmd::ConnectLink(args) => {
            let Some(oauth) = app.config.zoom.oauth.as_ref() else {
                return Err(Failure {
                    code: EX_CONFIG,
                    error: ConnectError::NotConfigured.into(),
                });
            };
            let now = Utc::now();
            let (person, to, interpreter) = match (&args.interpreter, &args.requestor) {
                (Some(who), _) => {
                    let i = app
                        .store
                        .find_interpreter(who)
                        .await
                        .map_err(anyhow::Error::from)?
                        .ok_or_else(|| {
                            anyhow::anyhow!(
                                "no interpreter {who:?}: give an id or email from `dragoman interpreter list`"
                            )
                        })?;
                    (ZoomPerson::Interpreter(i.id), i.email.clone(), Some(i))
                }
                (None, Some(email)) => {
                    let e = EmailAddress::parse(email).map_err(|e| {
                        anyhow::anyhow!("--requestor {email:?} is not an email address: {e}")
                    })?;
                    if !app.config.requestors.allows(&e) {
                        return Err(anyhow::anyhow!(
                            "{e} may not create requests: add it (or its domain) to [requestors] allow_addresses / allow_domains first"
                        )
                        .into());
                    }
                    (ZoomPerson::Requestor(e.clone()), e, None)
                }
                (None, None) => unreachable!("clap requires --interpreter or --requestor"),
            };
            let issued = issue_link(
                &oauth.token_key,
                &app.config.http.public_url,
                person,
                to,
                now,
            );
            let sent = if args.send {
                Some(
                    send_link(
                        app.store.as_ref(),
                        app.offers.templates(),
                        app.offers.from(),
                        &issued,
                        interpreter.as_ref(),
                        now,
                    )
                    .await
                    .context("queueing the connect email")?,
                )
            } else {
                None
            };
            if args.json {
                let out = serde_json::json!({
                    "person_kind": issued.person.kind(),
                    "person": issued.person.reference(),
                    "email": issued.to.as_str(),
                    "url": issued.url,
                    "expires_at": issued.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "queued_message_id": sent,
                });
                println!("{out}");
            } else {
                println!("{}", issued.url);
                eprintln!(
                    "connect link for {} {} <{}>, valid until {}{}",
                    issued.person.kind(),
                    issued.person.reference(),
                    issued.to,
                    issued
                        .expires_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    match &sent {
                        Some(_) => "; emailed to them (queued in the outbox)",
                        None => "; not emailed (add --send to email it)",
                    }
                );
            }
            Ok(0)
        }
        ZoomCmd::Connections { json } => {
            let list = app
                .store
                .list_zoom_connections()
                .await
                .map_err(anyhow::Error::from)?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).map_err(anyhow::Error::from)?
                );
                return Ok(0);
            }
            if list.is_empty() {
                println!("no Zoom user is connected: issue a link with `dragoman zoom connect-link --interpreter ID` or `--requestor EMAIL`");
                return Ok(0);
            }
            println!(
                "{:<11}  {:<32}  {:<24}  {:<32}  {:<20}  access token until",
                "kind", "person", "zoom user id", "zoom email", "connected"
            );
            for c in &list {
                println!(
                    "{:<11}  {:<32}  {:<24}  {:<32}  {:<20}  {}",
                    c.person_kind,
                    c.person,
                    c.zoom_user_id,
                    c.zoom_email.as_deref().unwrap_or("-"),
                    c.connected_at.format("%Y-%m-%d %H:%M"),
                    c.expires_at.format("%Y-%m-%d %H:%M")
                );
            }
            Ok(0)
        }
    }
}

/// ANSI colours for `status`: only when stdout is a terminal and `NO_COLOR` is not set.
struct Colors {
    bold: &'static str,
    dim: &'static str,
    red: &'static str,
    yellow: &'static str,
    green: &'static str,
    reset: &'static str,
}

impl Colors {
    fn for_stdout() -> Colors {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
            Colors {
                bold: "\x1b[1m",
                dim: "\x1b[2m",
                red: "\x1b[31m",
                yellow: "\x1b[33m",
                green: "\x1b[32m",
                reset: "\x1b[0m",
            }
        } else {
            Colors {
                bold: "",
                dim: "",
                red: "",
                yellow: "",
                green: "",
                reset: "",
            }
        }
    }
}

/// How many failed outbox messages `status` lists (ops, issue #8/#6).
const STATUS_FAILURES: i64 = 10;

async fn status(app: &App, json: bool) -> anyhow::Result<()> {
    let now = Utc::now();
    let counts = app.store.status(now).await?;
    let mut mailboxes = Vec::new();
    for (name, md) in app.maildirs()? {
        mailboxes.push(serde_json::json!({
            "name": name, "kind": "maildir", "path": md.root(), "waiting": md.pending()?.len(),
        }));
    }
    // ---- ops (issue #8/#6, ops2): the messages given up for good, newest first.
    let failures = app.store.outbox_failures(STATUS_FAILURES).await?;
    let health = app.store.mailbox_health().await?;
    for m in &app.config.mailboxes {
        if let dragoman::config::MailboxSource::Imap(imap) = &m.source {
            let h = health.iter().find(|h| h.mailbox == m.name);
            mailboxes.push(serde_json::json!({
                "name": m.name, "kind": "imap", "host": imap.host, "folder": imap.folder,
                "last_contact_at": h.and_then(|h| h.last_contact_at),
                "last_error": h.and_then(|h| h.last_error.clone()),
                "last_error_at": h.and_then(|h| h.last_error_at),
                "backlog": h.and_then(|h| h.backlog),
                "owner": h.and_then(|h| h.owner.clone()),
                "lease_until": h.and_then(|h| h.lease_until),
            }));
        }
    }
    if json {
        let v = serde_json::json!({
            "requests": counts.requests.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            "offers": counts.offers.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            "outbox": {"pending": counts.outbox_pending, "failed": counts.outbox_failed, "sent": counts.outbox_sent,
                "digested": counts.outbox_digested, "skipped": counts.outbox_skipped,
                "recent_failures": failures.iter().map(|f| serde_json::json!({
                    "id": f.id, "kind": f.kind, "message_id": f.message_id, "to": f.recipient,
                    "attempts": f.attempts, "error": f.last_error, "created_at": f.created_at,
                })).collect::<Vec<_>>()},
            "interpreters": {"total": counts.interpreters, "online": counts.interpreters_online},
            "messages": {"ingested": counts.messages_ingested, "rejected": counts.messages_rejected},
            "mailboxes": mailboxes,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let c = Colors::for_stdout();
        let mut rows: Vec<(&str, String, i64, &'static str)> = Vec::new();
        let mut section = |name: &'static str, counts: &[(String, i64)]| {
            for (i, (state, n)) in counts.iter().filter(|(_, n)| *n > 0).enumerate() {
                let colour = match (name, state.as_str()) {
                    (_, "failed" | "unfilled") => c.red,
                    ("requests", "open" | "offered") | ("offers", "pending") => c.yellow,
                    ("requests", "assigned") | ("offers", "accepted") => c.green,
                    _ => "",
                };
                rows.push((if i == 0 { name } else { "" }, state.clone(), *n, colour));
            }
            if counts.iter().all(|(_, n)| *n == 0) {
                rows.push((name, "none".into(), 0, c.dim));
            }
        };
        section("requests", &counts.requests);
        section("offers", &counts.offers);
        section(
            "outbox",
            &[
                ("pending".into(), counts.outbox_pending),
                ("failed".into(), counts.outbox_failed),
                ("sent".into(), counts.outbox_sent),
                ("in a digest".into(), counts.outbox_digested),
                ("skipped".into(), counts.outbox_skipped),
            ],
        );
        section(
            "interpreters",
            &[
                ("online".into(), counts.interpreters_online),
                ("on roster".into(), counts.interpreters),
            ],
        );
        section(
            "messages",
            &[
                ("ingested".into(), counts.messages_ingested),
                ("rejected".into(), counts.messages_rejected),
            ],
        );
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{}{:<13} {:<12} {:>8}{}",
            c.bold, "", "state", "count", c.reset
        )?;
        for (name, state, n, colour) in rows {
            let reset = if colour.is_empty() { "" } else { c.reset };
            writeln!(out, "{:<13} {colour}{state:<12} {n:>8}{reset}", name)?;
        }
        // ---- ops (issue #8/#6, ops2): why the failed messages failed.
        if !failures.is_empty() {
            writeln!(out)?;
            writeln!(
                out,
                "{}{:<13} {:<12} {:<28} error{}",
                c.bold, "failed mail", "kind", "to", c.reset
            )?;
            for f in &failures {
                let error: String = f
                    .last_error
                    .as_deref()
                    .unwrap_or("-")
                    .chars()
                    .take(100)
                    .collect();
                writeln!(
                    out,
                    "{:<13} {:<12} {:<28} {}{error}{}",
                    f.created_at.format("%m-%d %H:%M"),
                    f.kind,
                    f.recipient,
                    c.red,
                    c.reset
                )?;
            }
        }
        if !mailboxes.is_empty() {
            writeln!(out)?;
            writeln!(
                out,
                "{}{:<13} {:<12} {:>8}  path{}",
                c.bold, "mailbox", "kind", "waiting", c.reset
            )?;
            for m in &mailboxes {
                let imap = m["kind"] == "imap";
                let waiting = if imap {
                    m["backlog"].as_u64()
                } else {
                    m["waiting"].as_u64()
                };
                let colour = if waiting.unwrap_or(0) > 0 {
                    c.yellow
                } else {
                    ""
                };
                let reset = if colour.is_empty() { "" } else { c.reset };
                let waiting = waiting.map_or("-".to_string(), |n| n.to_string());
                let place = if imap {
                    format!(
                        "{}/{}  last contact {}",
                        m["host"].as_str().unwrap_or("?"),
                        m["folder"].as_str().unwrap_or("?"),
                        m["last_contact_at"].as_str().unwrap_or("never"),
                    )
                } else {
                    m["path"].as_str().unwrap_or("?").to_string()
                };
                writeln!(
                    out,
                    "{:<13} {:<12} {colour}{waiting:>8}{reset}  {place}",
                    m["name"].as_str().unwrap_or("?"),
                    m["kind"].as_str().unwrap_or("?"),
                )?;
                if let Some(err) = m["last_error"].as_str() {
                    writeln!(out, "{:<13} {}last error: {err}{}", "", c.red, c.reset)?;
                }
            }
        }
    }
    Ok(())
}
