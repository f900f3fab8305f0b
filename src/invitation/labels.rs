//! The words invitations are made of, per language: labels for topic, time, meeting ID and
//! passcode (with ASCII or full-width colons, with or without spaces), the phone/SIP/H.323 section
//! headers, the organizer sentence, and the phrases that mark webinars, recurrences and personal
//! rooms. Each entry carries its language, which votes for the invitation's locale.
//!
//! Must never: hold extraction logic; this file is data and the regexes built from it.

use regex::Regex;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

/// (label, language). Longer labels are tried first.
pub(crate) const TOPIC: &[(&str, &str)] = &[
    ("Topic", "en"),
    ("Meeting Topic", "en"),
    ("Webinar Topic", "en"),
    ("Thema", "de"),
    ("Tema", "es"),
    ("Sujet", "fr"),
    ("Argomento", "it"),
    ("Tópico", "pt"),
    ("Assunto", "pt"),
    ("Onderwerp", "nl"),
    ("トピック", "ja"),
    ("主题", "zh"),
    ("主題", "zh"),
    ("会议主题", "zh"),
    ("會議主題", "zh"),
    ("주제", "ko"),
    ("Тема", "ru"),
];

/// Google Calendar's labels: only read when the text is a Google Calendar invitation.
pub(crate) const GOOGLE_TITLE: &[(&str, &str)] = &[("Title", "en")];

pub(crate) const TIME: &[(&str, &str)] = &[
    ("Time", "en"),
    ("When", "en"),
    ("Date & Time", "en"),
    ("Date and Time", "en"),
    ("Uhrzeit", "de"),
    ("Zeit", "de"),
    ("Hora", "es"),
    ("Heure", "fr"),
    ("Ora", "it"),
    ("Horário", "pt"),
    ("Tijd", "nl"),
    ("時間", "ja"),
    ("日時", "ja"),
    ("时间", "zh"),
    ("시간", "ko"),
    ("Время", "ru"),
];

pub(crate) const MEETING_ID: &[(&str, &str)] = &[
    ("Meeting ID", "en"),
    ("Webinar ID", "en"),
    ("Personal Meeting ID", "en"),
    ("Conference ID", "en"),
    ("ID", "en"),
    ("Meeting-ID", "de"),
    ("Webinar-ID", "de"),
    ("Konferenz-ID", "de"),
    ("ID de reunión", "es"),
    ("ID de la reunión", "es"),
    ("ID del seminario web", "es"),
    ("ID de réunion", "fr"),
    ("ID réunion", "fr"),
    ("ID du webinar", "fr"),
    ("ID riunione", "it"),
    ("ID della riunione", "it"),
    ("ID da reunião", "pt"),
    ("ID do webinar", "pt"),
    ("Vergadering-ID", "nl"),
    ("Vergaderings-ID", "nl"),
    ("ミーティングID", "ja"),
    ("ミーティング ID", "ja"),
    ("ウェビナーID", "ja"),
    ("会议号", "zh"),
    ("会议 ID", "zh"),
    ("会议ID", "zh"),
    ("會議號", "zh"),
    ("會議 ID", "zh"),
    ("會議ID", "zh"),
    ("회의 ID", "ko"),
    ("회의ID", "ko"),
    ("Идентификатор конференции", "ru"),
    ("Идентификатор встречи", "ru"),
];

pub(crate) const PASSCODE: &[(&str, &str)] = &[
    ("Passcode", "en"),
    ("Password", "en"),
    ("Meeting Passcode", "en"),
    ("Meeting Password", "en"),
    ("Webinar Passcode", "en"),
    ("Kenncode", "de"),
    ("Passwort", "de"),
    ("Kennwort", "de"),
    ("Código de acceso", "es"),
    ("Contraseña", "es"),
    ("Code secret", "fr"),
    ("Mot de passe", "fr"),
    ("Code d'accès", "fr"),
    ("Code d’accès", "fr"),
    ("Codice d'accesso", "it"),
    ("Codice d’accesso", "it"),
    ("Senha de acesso", "pt"),
    ("Código de acesso", "pt"),
    ("Senha", "pt"),
    ("Toegangscode", "nl"),
    // Zoom's Dutch UI word for the passcode (support.zoom.com/hc/nl, "Vergaderingen plannen").
    ("Wachtwoordcode", "nl"),
    ("Wachtwoord", "nl"),
    ("パスコード", "ja"),
    ("パスワード", "ja"),
    ("密码", "zh"),
    ("会议密码", "zh"),
    ("密碼", "zh"),
    ("會議密碼", "zh"),
    ("암호", "ko"),
    ("비밀번호", "ko"),
    ("패스코드", "ko"),
    ("Код доступа", "ru"),
    ("Пароль", "ru"),
];

/// Phrases near the join link that only the invitation's own language uses.
pub(crate) const JOIN_PHRASES: &[(&str, &str)] = &[
    ("join zoom meeting", "en"),
    ("join from pc, mac", "en"),
    ("join zoom webinar", "en"),
    ("zoom-meeting beitreten", "de"),
    ("unirse a la reunión zoom", "es"),
    ("unirse a la reunión de zoom", "es"),
    ("participer à la réunion zoom", "fr"),
    ("rejoindre la réunion zoom", "fr"),
    ("entra nella riunione zoom", "it"),
    ("partecipa alla riunione zoom", "it"),
    ("entrar na reunião zoom", "pt"),
    ("ingressar na reunião zoom", "pt"),
    ("zoom-vergadering deelnemen", "nl"),
    ("deelnemen aan zoom-vergadering", "nl"),
    ("zoomミーティングに参加する", "ja"),
    ("加入 zoom 会议", "zh"),
    ("加入zoom会议", "zh"),
    ("加入 zoom 會議", "zh"),
    ("加入zoom會議", "zh"),
    ("zoom 회의 참가", "ko"),
    ("подключиться к конференции zoom", "ru"),
];

/// Lines that open the phone / room-system part of an invitation (passcodes after them are the
/// numeric dial-in ones). Lower-case; matched at the start of a trimmed line.
pub(crate) const PHONE_HEADERS: &[&str] = &[
    "one tap mobile",
    "or one tap mobile",
    "or an h.323/sip room system",
    "or skype for business",
    "dial(for higher quality",
    "dial (for higher quality",
    "join by skype for business",
    "or iphone one-tap",
    "iphone one-tap",
    "phone one-tap",
    "or telephone",
    "dial by your location",
    "dial by location",
    "dial:",
    "join by phone",
    "join by sip",
    "join by h.323",
    "join by skype",
    "join via audio",
    "join instructions",
    "find your local number",
    "international numbers available",
    "mobile direkteinwahl",
    "schnelleinwahl mobil",
    "einwahl nach aktuellem standort",
    "über sip beitreten",
    "über h.323 beitreten",
    "móvil con un toque",
    "marcar por su ubicación",
    "marque según su ubicación",
    "unirse mediante sip",
    "unirse mediante h.323",
    "appareil mobile en un clic",
    "composez un numéro en fonction de votre emplacement",
    "participer par sip",
    "participer par h.323",
    "dispositivo mobile con un tocco",
    "componi in base alla tua posizione",
    "toque único em dispositivo móvel",
    "disque pelo seu local",
    "één tik mobiel",
    "kies nummer op basis van uw locatie",
    "ワンタップモバイル",
    "所在地でダイアル",
    "所在地でダイヤル",
    "sipでの参加",
    "h.323での参加",
    "一键拨号",
    "手机一键拨号",
    "移动设备一键拨号",
    "根据您的位置拨号",
    "按您的位置拨号",
    "行動裝置一鍵撥號",
    "一鍵撥號",
    "根據您的位置撥號",
    "원탭 모바일",
    "모바일 원탭",
    "위치로 전화",
    "быстрое подключение с мобильного",
    "набрать номер",
];

/// Phrases that make an invitation a webinar (lower-case, anywhere).
pub(crate) const WEBINAR: &[&str] = &[
    "webinar id",
    "webinar-id",
    "join the webinar",
    "join zoom webinar",
    "zoom webinar",
    "webinar passcode",
    "to join the webinar",
    "inviting you to a zoom webinar",
    "zoom-webinar",
    "seminario web",
    "id du webinar",
    "ウェビナー",
    "网络研讨会",
    "網路研討會",
    "웨비나",
    "вебинар",
];

/// Phrases that make an invitation recurring (lower-case, anywhere).
pub(crate) const RECURRING: &[&str] = &[
    "recurring meeting",
    "every day",
    "every week",
    "every month",
    "every weekday",
    "occurrence(s)",
    "no fixed time",
    "meet anytime",
    "weekly: http",
    "daily: http",
    "monthly: http",
    "wiederkehrend",
    "jede woche",
    "jeden tag",
    "jeden monat",
    "reunión periódica",
    "reunión recurrente",
    "cada semana",
    "cada día",
    "réunion récurrente",
    "toutes les semaines",
    "tous les jours",
    "riunione ricorrente",
    "ogni settimana",
    "reunião recorrente",
    "toda semana",
    "terugkerende vergadering",
    "elke week",
    "定期ミーティング",
    "毎週",
    "毎日",
    "周期性会议",
    "定期会议",
    "每周",
    "每天",
    "定期會議",
    "每週",
    "반복 회의",
    "매주",
    "периодическая конференция",
    // Zoom's Russian text: "Время: Это регулярная конференция Начать в любое время".
    "регулярная конференция",
    "каждую неделю",
];

/// Recurrence line openers ("Every week on Tue, until ..."), lower-case.
pub(crate) const RECURRENCE_LINE: &[&str] = &[
    "every ", "jede ", "jeden ", "cada ", "toutes ", "tous ", "ogni ", "toda ", "todo ", "todos ",
    "elke ", "毎", "每", "매", "кажд",
];

pub(crate) const PERSONAL: &[&str] = &[
    "personal meeting id",
    "personal meeting room",
    "persönliche meeting-id",
    "persönlicher meetingraum",
    "sala de reuniones personal",
    "salle de réunion personnelle",
    "パーソナルミーティングid",
    "个人会议号",
    "個人會議號",
    // Zoom's Russian PMI topic: "Зал персональной конференции <name>".
    "зал персональной конференции",
];

/// Organizer sentences: the capture is the organizer.
pub(crate) const ORGANIZER: &[(&str, &str)] = &[
    (r"(?i)^(.+?) is inviting you to a (?:scheduled )?zoom", "en"),
    (r"(?i)^(.+?) lädt sie zu einem (?:geplanten )?zoom", "de"),
    (
        r"(?i)^(.+?) (?:le|te|lo|la|los) está invitando a una reunión",
        "es",
    ),
    (r"(?i)^(.+?) vous invite à une réunion", "fr"),
    (r"(?i)^(.+?) ti sta invitando a una riunione", "it"),
    (r"(?i)^(.+?) está convidando você para uma reunião", "pt"),
    (r"(?i)^(.+?) nodigt u uit voor een", "nl"),
    (r"^(.+?)(?:さん)?があなたを.*招待しています", "ja"),
    (r"^(.+?) ?邀请您参加", "zh"),
    (r"^(.+?) ?邀請您參加", "zh"),
    (r"^(.+?)님이 .*초대합니다", "ko"),
    (r"(?i)^(.+?) приглашает вас", "ru"),
];

fn alternation(labels: &[(&str, &str)]) -> String {
    // Matched against ASCII-lower-cased text: the fully lower-cased label, and the label with
    // only ASCII lower-cased (for capitals outside ASCII, "Тема", "ÍD").
    let mut l: Vec<String> = Vec::new();
    for (label, _) in labels {
        for v in [label.to_lowercase(), label.to_ascii_lowercase()] {
            if !l.contains(&v) {
                l.push(v);
            }
        }
    }
    l.sort_by_key(|s| std::cmp::Reverse(s.chars().count()));
    l.iter()
        .map(|s| regex::escape(s).replace(' ', r"[ \t\-]?"))
        .collect::<Vec<_>>()
        .join("|")
}

/// A line-matching regex with a literal prefilter: `words` (plain literals, so the regex engine
/// searches them with its SIMD literal searchers) finds the few lines that can match, and only
/// those lines are given to `line`. Equivalent to one multi-line scan of the whole text with
/// `line` as long as every match of `line` lies within one line and contains one of `words`.
pub(crate) struct LineScan {
    words: Regex,
    line: Regex,
    /// When set, a match's word is the first thing on its line after these characters only.
    lead: Option<&'static [char]>,
}

/// What may stand before a label at the start of its line (see [`line_label`]).
const LABEL_LEAD: &[char] = &[' ', '\t', '>', '*', '_', '#', '•', '·', '-'];

impl LineScan {
    fn new(words: &[String], line: &str, lead: Option<&'static [char]>) -> Self {
        let alts: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
        LineScan {
            words: Regex::new(&alts.join("|")).expect("literal regex"),
            line: Regex::new(line).expect("line regex"),
            lead,
        }
    }

    /// The first line of `text` that `line` matches, with the capture groups' byte ranges in
    /// `text` (`None` for a group that did not take part).
    pub(crate) fn first(&self, text: &str) -> Option<Vec<Option<Range<usize>>>> {
        let mut next_line = 0;
        for m in self.words.find_iter(text) {
            if m.start() < next_line {
                continue;
            }
            let start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
            let end = text[m.start()..]
                .find('\n')
                .map_or(text.len(), |i| m.start() + i);
            next_line = end;
            // A label opens its line after `lead` characters only; no later word on the line
            // can then open it either, since this word's own characters stand before them.
            if let Some(lead) = self.lead {
                if !text[start..m.start()].chars().all(|c| lead.contains(&c)) {
                    continue;
                }
            }
            if let Some(c) = self.line.captures(&text[start..end]) {
                return Some(
                    c.iter()
                        .map(|g| g.map(|g| start + g.start()..start + g.end()))
                        .collect(),
                );
            }
        }
        None
    }
}

/// The first word of every variant of every label (see [`alternation`]): any label match holds
/// one of them literally.
fn first_words(labels: &[(&str, &str)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (label, _) in labels {
        for v in [label.to_lowercase(), label.to_ascii_lowercase()] {
            let w = v.split(' ').next().unwrap_or("").to_owned();
            if !w.is_empty() && !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

/// A label at the start of a line: group 1 the label, group 2 the rest of the line.
fn line_label(labels: &[(&str, &str)]) -> LineScan {
    let pat = format!(
        r"(?m)^[ \t>*_#•·\-]*({})[ \t*_]*[:：][ \t*_]*(.*)$",
        alternation(labels)
    );
    LineScan::new(&first_words(labels), &pat, Some(LABEL_LEAD))
}

pub(crate) static TOPIC_RE: LazyLock<LineScan> = LazyLock::new(|| line_label(TOPIC));
pub(crate) static TIME_RE: LazyLock<LineScan> = LazyLock::new(|| line_label(TIME));
pub(crate) static TITLE_RE: LazyLock<LineScan> = LazyLock::new(|| line_label(GOOGLE_TITLE));

/// A label regex matched anywhere, with a literal prefilter: `words` (the labels' first words,
/// searched with the regex engine's SIMD literal searchers) gives the only places a match can
/// start, and `anchored` (the pattern behind `\A`) is tried at each. Yields exactly the matches
/// the unanchored pattern's `captures_iter` yields, without running its automaton over the
/// whole text.
pub(crate) struct LabelScan {
    words: Regex,
    anchored: Regex,
}

impl LabelScan {
    fn new(labels: &[(&str, &str)], pattern: &str) -> Self {
        let alts: Vec<String> = first_words(labels)
            .iter()
            .map(|w| regex::escape(w))
            .collect();
        LabelScan {
            words: Regex::new(&alts.join("|")).expect("literal regex"),
            anchored: Regex::new(&format!(r"\A(?:{pattern})")).expect("label regex"),
        }
    }

    /// Every match in `text`, in order, as (group 1, group 2) byte ranges.
    pub(crate) fn all(&self, text: &str) -> Vec<(Range<usize>, Range<usize>)> {
        let mut out = Vec::new();
        let mut at = 0;
        let mut locs = self.anchored.capture_locations();
        while at <= text.len() {
            let Some(hit) = self.words.find_at(text, at) else {
                break;
            };
            let h = hit.start();
            let found = self
                .anchored
                .captures_read(&mut locs, &text[h..])
                .and_then(|all| {
                    let (g1, g2) = (locs.get(1)?, locs.get(2)?);
                    Some((h + all.end(), (h + g1.0..h + g1.1, h + g2.0..h + g2.1)))
                });
            match found {
                Some((end, groups)) => {
                    out.push(groups);
                    at = end;
                }
                None => {
                    // A match may still start inside this word (a shorter label within it).
                    at = h + text[h..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        out
    }
}

/// Passcode labels anywhere in a line: group 1 the label, group 2 the value.
pub(crate) static PASSCODE_RE: LazyLock<LabelScan> = LazyLock::new(|| {
    LabelScan::new(
        PASSCODE,
        &format!(
            r"({})[\s*_]*[:：][\s*_]*([a-z0-9@_*!\-]{{1,40}})",
            alternation(PASSCODE)
        ),
    )
});

/// Meeting-ID labels anywhere in a line: group 1 the label, group 2 the digits.
pub(crate) static MEETING_ID_RE: LazyLock<LabelScan> = LazyLock::new(|| {
    LabelScan::new(
        MEETING_ID,
        &format!(
            r"({})[\s*_]*[:：]?[\s*_]*(\d[\d \-‐.]{{5,20}}\d)",
            alternation(MEETING_ID)
        ),
    )
});

/// Words every organizer sentence holds (lower-case): they pick the lines the organizer regex
/// is run on.
const ORGANIZER_MARKERS: &[&str] = &[
    "nvit",
    "lädt",
    "convid",
    "nodigt",
    "招待",
    "邀请",
    "邀請",
    "초대",
    "приглаша",
];

/// All organizer sentences in one line regex: group i+1 is ORGANIZER[i]'s name.
pub(crate) static ORGANIZER_RE: LazyLock<LineScan> = LazyLock::new(|| {
    let alts: Vec<String> = ORGANIZER
        .iter()
        .map(|(p, _)| {
            // Matched against ASCII-lower-cased text.
            let rest = match p.strip_prefix("(?i)") {
                Some(r) => r.to_ascii_lowercase(),
                None => (*p).to_owned(),
            };
            let rest = rest.strip_prefix("^(.+?)").unwrap_or(&rest);
            format!("([^\\n]+?)(?:{rest})")
        })
        .collect();
    let markers: Vec<String> = ORGANIZER_MARKERS.iter().map(|m| (*m).to_owned()).collect();
    LineScan::new(&markers, &format!("(?m)^(?:{})", alts.join("|")), None)
});

/// True when a trimmed, ASCII-lower-cased line opens with a phone-part header; the same as
/// [`PHONE_HEADER_RE`] on that line, with a cheap look at its first letter first.
pub(crate) fn is_phone_header(low_line: &str) -> bool {
    static FIRST: LazyLock<Vec<char>> = LazyLock::new(|| {
        let mut v: Vec<char> = PHONE_HEADERS
            .iter()
            .filter_map(|h| h.chars().next())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    });
    let body = low_line.trim_start_matches([' ', '\t', '•', '·', '*', '-']);
    body.chars()
        .next()
        .is_some_and(|c| FIRST.binary_search(&c).is_ok())
        && PHONE_HEADER_RE.is_match(low_line)
}

/// Zoom's phone-part headers at the start of a line.
pub(crate) static PHONE_HEADER_RE: LazyLock<Regex> = LazyLock::new(|| {
    let alts: Vec<String> = PHONE_HEADERS.iter().map(|h| regex::escape(h)).collect();
    Regex::new(&format!(r"(?m)^[ \t•·*\-]*(?:{})", alts.join("|"))).expect("phone regex")
});

/// What a phrase tells about the invitation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PhraseFlags {
    pub webinar: bool,
    pub personal: bool,
    pub recurring: bool,
    pub google: bool,
}

/// Google Calendar's own sentences.
pub(crate) const GOOGLE: &[&str] = &[
    "invitation from google calendar",
    "joining info",
    "you have been invited to the following event",
];

/// Lower-cased phrase -> (flags, join-phrase language).
type PhraseTable = HashMap<String, (PhraseFlags, Option<&'static str>)>;

static PHRASES: LazyLock<(Regex, PhraseTable)> = LazyLock::new(|| {
    let mut all: Vec<(String, PhraseFlags, Option<&'static str>)> = Vec::new();
    let flag = |w: bool, p: bool, r: bool, g: bool| PhraseFlags {
        webinar: w,
        personal: p,
        recurring: r,
        google: g,
    };
    for p in WEBINAR {
        all.push((p.to_string(), flag(true, false, false, false), None));
    }
    for p in PERSONAL {
        all.push((p.to_string(), flag(false, true, false, false), None));
    }
    for p in RECURRING {
        all.push((p.to_string(), flag(false, false, true, false), None));
    }
    for p in GOOGLE {
        all.push((p.to_string(), flag(false, false, false, true), None));
    }
    for (p, l) in JOIN_PHRASES {
        all.push((p.to_string(), PhraseFlags::default(), Some(*l)));
    }
    // A phrase also carries what every phrase inside it says ("join zoom webinar" is a webinar),
    // since one scan reports only the longer one.
    let mut table = PhraseTable::new();
    for (p, _, _) in &all {
        let mut f = PhraseFlags::default();
        let mut lang = None;
        for (q, qf, ql) in &all {
            if p.contains(q.as_str()) {
                f.webinar |= qf.webinar;
                f.personal |= qf.personal;
                f.recurring |= qf.recurring;
                f.google |= qf.google;
                lang = lang.or(*ql);
            }
        }
        table.insert(p.clone(), (f, lang));
    }
    let mut keys: Vec<&String> = table.keys().collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.chars().count()));
    let alts: Vec<String> = keys.iter().map(|k| regex::escape(k)).collect();
    let re = Regex::new(&format!("(?:{})", alts.join("|"))).expect("phrase regex");
    (re, table)
});

/// One scan of `text` for every phrase list: the flags, and the join-phrase languages found.
pub(crate) fn scan_phrases(text: &str) -> (PhraseFlags, Vec<&'static str>) {
    let (re, table) = &*PHRASES;
    let mut flags = PhraseFlags::default();
    let mut langs = Vec::new();
    for m in re.find_iter(text) {
        if let Some((f, l)) = table.get(&m.as_str().to_lowercase()) {
            flags.webinar |= f.webinar;
            flags.personal |= f.personal;
            flags.recurring |= f.recurring;
            flags.google |= f.google;
            if let Some(l) = l {
                if !langs.contains(l) {
                    langs.push(*l);
                }
            }
        }
    }
    (flags, langs)
}

/// The language of a matched label text.
pub(crate) fn lang_of(table: &[(&str, &'static str)], matched: &str) -> Option<&'static str> {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let exact = table.iter().find(|(l, _)| l.eq_ignore_ascii_case(matched));
    exact
        .or_else(|| {
            let m = norm(matched);
            table.iter().find(|(l, _)| norm(l) == m)
        })
        .map(|(_, lang)| *lang)
}

/// Common short words per Latin-script language, for texts without any label.
const STOPWORDS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "and", "you", "to", "join", "meeting", "with", "your", "is",
        ],
    ),
    (
        "de",
        &[
            "und", "der", "die", "das", "sie", "mit", "nicht", "ist", "ein", "zu",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "et", "vous", "de", "une", "pour", "est", "des",
        ],
    ),
    (
        "es",
        &[
            "el", "la", "los", "y", "usted", "de", "una", "para", "es", "reunión",
        ],
    ),
    (
        "it",
        &[
            "il", "la", "gli", "e", "di", "una", "per", "che", "riunione", "sono",
        ],
    ),
    (
        "pt",
        &[
            "o", "a", "os", "e", "você", "de", "uma", "para", "reunião", "não",
        ],
    ),
    (
        "nl",
        &[
            "de",
            "het",
            "een",
            "en",
            "u",
            "van",
            "voor",
            "niet",
            "vergadering",
            "is",
        ],
    ),
];

/// The language whose common words a Latin-script text uses most, if any stands out.
pub(crate) fn stopword_lang(text: &str) -> Option<&'static str> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .take(5000)
        .map(str::to_lowercase)
        .collect();
    let mut best: Option<(&'static str, usize)> = None;
    for (lang, list) in STOPWORDS {
        let n = words.iter().filter(|w| list.contains(&w.as_str())).count();
        if n >= 3 && best.is_none_or(|(_, b)| n > b) {
            best = Some((lang, n));
        }
    }
    best.map(|(l, _)| l)
}
