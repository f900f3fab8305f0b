//! The words invitations are made of, per language: labels for topic, time, meeting ID and
//! passcode (with ASCII or full-width colons, with or without spaces), the phone/SIP/H.323 section
//! headers, the organizer sentence, and the phrases that mark webinars, recurrences and personal
//! rooms. Each entry carries its language, which votes for the invitation's locale.
//!
//! Must never: hold extraction logic; this file is data and the regexes built from it.

use regex::Regex;
use std::collections::HashMap;
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
    ("Codice d'accesso", "it"),
    ("Senha de acesso", "pt"),
    ("Código de acesso", "pt"),
    ("Senha", "pt"),
    ("Toegangscode", "nl"),
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

/// Cheap pre-check before the organizer regex: the text has a word every organizer sentence needs.
pub(crate) fn may_name_organizer(text: &str) -> bool {
    const MARKERS: &[&str] = &[
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
    MARKERS.iter().any(|m| text.contains(m))
}

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

/// A label at the start of a line (multi-line mode: one scan finds the first such line).
fn line_label(labels: &[(&str, &str)]) -> Regex {
    let pat = format!(
        r"(?m)^[ \t>*_#•·\-]*({})[ \t*_]*[:：][ \t*_]*(.*)$",
        alternation(labels)
    );
    Regex::new(&pat).expect("label regex")
}

pub(crate) static TOPIC_RE: LazyLock<Regex> = LazyLock::new(|| line_label(TOPIC));
pub(crate) static TIME_RE: LazyLock<Regex> = LazyLock::new(|| line_label(TIME));
pub(crate) static TITLE_RE: LazyLock<Regex> = LazyLock::new(|| line_label(GOOGLE_TITLE));

/// Passcode labels anywhere in a line: group 1 the label, group 2 the value.
pub(crate) static PASSCODE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"({})[\s*_]*[:：][\s*_]*([a-z0-9@_*!\-]{{1,40}})",
        alternation(PASSCODE)
    ))
    .expect("passcode regex")
});

/// Meeting-ID labels anywhere in a line: group 1 the label, group 2 the digits.
pub(crate) static MEETING_ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"({})[\s*_]*[:：]?[\s*_]*(\d[\d \-‐.]{{5,20}}\d)",
        alternation(MEETING_ID)
    ))
    .expect("meeting id regex")
});

/// All organizer sentences in one multi-line regex: group i+1 is ORGANIZER[i]'s name.
pub(crate) static ORGANIZER_RE: LazyLock<Regex> = LazyLock::new(|| {
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
    Regex::new(&format!("(?m)^(?:{})", alts.join("|"))).expect("organizer regex")
});

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
    let m = norm(matched);
    exact
        .or_else(|| table.iter().find(|(l, _)| norm(l) == m))
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
