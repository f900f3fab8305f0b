//! The words invitations are made of, per language: labels for topic, time, meeting ID and
//! passcode (with ASCII or full-width colons, with or without spaces), the phone/SIP/H.323 section
//! headers, the organizer sentence, and the phrases that mark webinars, recurrences and personal
//! rooms. Each entry carries its language, which votes for the invitation's locale.
//!
//! Must never: hold extraction logic; this file is data, the regexes built from it, and the
//! hand readers and the one-pass word scan that stand in for them (same matches, checked against
//! them by its tests).

use regex::Regex;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

/// (label, language). Longer labels are tried first.
pub(crate) const TOPIC: &[(&str, &str)] = &[
    ("Topic", "en"),
    ("Meeting Topic", "en"),
    ("Webinar Topic", "en"),
    // Calendly's mails and calendar descriptions name the event type ("Event Name: Technical
    // Interview" over "Location: This is a Zoom web conference.").
    ("Event Name", "en"),
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
    // A talk's title in a Chinese seminar notice ("- 题目：CGM 第202期 …" over "- 时间：…" and the
    // Zoom link, a seminar series' Markdown page on GitHub).
    ("题目", "zh"),
    ("題目", "zh"),
    ("주제", "ko"),
    ("Тема", "ru"),
    // Zoom's Indonesian invitation ("… mengundang Anda ke Rapat Zoom.", github: an .ics event
    // description in a JS file).
    ("Topik", "id"),
    // Zoom's Turkish invitation ("Konu: … Personal Meeting Room", a course README on GitHub).
    ("Konu", "tr"),
    // Zoom's Polish web client (zoom/meetingsdk-web pl-PL.json, apac.rmc.topic) and a Polish
    // phishing-awareness game's mock of Zoom's mail ("… zaprasza Cię na zaplanowane spotkanie
    // Zoom. Temat: … Czas: …").
    ("Temat", "pl"),
];

/// A time-zone line of its own, read only when the time line names no zone ("Date & Time: ... at
/// 14:00" then "Timezone: Europe/Amsterdam" in booking mails).
pub(crate) const TIMEZONE: &[(&str, &str)] =
    &[("Time Zone", "en"), ("Timezone", "en"), ("Tijdzone", "nl")];

/// Google Calendar's labels: only read when the text is a Google Calendar invitation.
pub(crate) const GOOGLE_TITLE: &[(&str, &str)] = &[("Title", "en")];

pub(crate) const TIME: &[(&str, &str)] = &[
    ("Time", "en"),
    ("When", "en"),
    ("Date & Time", "en"),
    ("Date and Time", "en"),
    // Calendly's notification mail ("Event Date/Time:" alone on its line, then "12:45pm -
    // Wednesday, September 24, 2025 (Central Time - US & Canada)"), and forms like it.
    ("Date/Time", "en"),
    ("Event Date/Time", "en"),
    // Zoom's webinar reminder ("Date Time: Feb 24, 2022 01:00 PM Eastern Time (US and Canada)").
    ("Date Time", "en"),
    ("Uhrzeit", "de"),
    ("Zeit", "de"),
    ("Hora", "es"),
    ("Heure", "fr"),
    ("Ora", "it"),
    ("Horário", "pt"),
    ("Tijd", "nl"),
    ("Datum & Tijd", "nl"),
    ("時間", "ja"),
    ("日時", "ja"),
    // Zoom's current Japanese invitation ("時刻: 2025年7月17日 18:00 大阪、札幌、東京", a
    // forwarded one in a public SQL dump of mail bodies).
    ("時刻", "ja"),
    // "開催日時：2026/02/22 08:30 JST" (a Japanese study group's page).
    ("開催日時", "ja"),
    ("时间", "zh"),
    ("시간", "ko"),
    ("Время", "ru"),
    // Zoom's Ukrainian invitation ("Час: 23 вересня 2026 9:00 AM Київ", a Google Classroom post
    // copied into a public bot's test).
    ("Час", "uk"),
    // Zoom's Indonesian time label ("Waktu: …", a church's schedule on GitHub).
    ("Waktu", "id"),
    // Zoom's Turkish one ("Konu: MEVZUAT. Zaman: 13 Eyl 2024 09:00 ÖÖ İstanbul", a course page).
    ("Zaman", "tr"),
    // The Polish mock of Zoom's mail above ("Czas: Jutro, 10:00.").
    ("Czas", "pl"),
];

/// A date on a line of its own, read only beside a time line that gives no date ("Date: Dec 3,
/// 2026" over "Time: 10:00 AM …", "Fecha:" over "Hora:"), or where no time label is ("Date:
/// Thursday, December 3, 2026, 6:00 PM ET"); see [`date_value`]. Lower case; no language
/// vote: "Date" and "Data" are shared by several.
pub(crate) const DATE: &[&str] = &[
    "date",
    "fecha",
    "datum",
    "data",
    "dia",
    "日付",
    "日期",
    "날짜",
    "дата",
    "tanggal",
    "tarih",
    "ngày",
    // Indonesian letters' "day, date" ("Hari, tanggal : Senin, 2 Maret 2026").
    "hari, tanggal",
    "hari/tanggal",
];

/// The value of a [`DATE`] line: the label first on its line after [`is_label_lead`]
/// characters ("**Date:**", "📅 Fecha:"), then a ':' (ASCII or full-width) or a table cell's
/// tab, and something after it.
pub(crate) fn date_value(line: &str) -> Option<&str> {
    let at = line.find(|c: char| !is_label_lead(c))?;
    let rest = &line[at..];
    // Every label starts with one of these letters or is not ASCII: most lines end here.
    let first = rest.as_bytes()[0];
    if first.is_ascii() && !matches!(first.to_ascii_lowercase(), b'd' | b'f' | b't' | b'h' | b'n') {
        return None;
    }
    let label = DATE.iter().find_map(|l| {
        // The first bytes tell most labels apart (no label's first letter has a capital of
        // another first byte, nor a non-ASCII one an ASCII capital).
        let l0 = l.as_bytes()[0];
        if (l0.is_ascii() && first.to_ascii_lowercase() != l0)
            || (!l0.is_ascii() && first.is_ascii())
        {
            return None;
        }
        if l.is_ascii() {
            let n = l.len();
            let word = rest.as_bytes().get(..n)?;
            // An ASCII label matched byte for byte: `n` is a char boundary.
            return (word.eq_ignore_ascii_case(l.as_bytes())
                && !rest[n..].starts_with(char::is_alphanumeric))
            .then_some(n);
        }
        let mut chars = rest.char_indices();
        for want in l.chars() {
            let (_, c) = chars.next()?;
            if !c.to_lowercase().eq(std::iter::once(want)) {
                return None;
            }
        }
        let end = chars.next().map_or(rest.len(), |(i, _)| i);
        (!rest[end..].starts_with(char::is_alphanumeric)).then_some(end)
    })?;
    let after = rest[label..].trim_start_matches([' ', '*', '_']);
    let value = after
        .strip_prefix([':', '：', '\t'])?
        .trim_start_matches([' ', '\t', '*', '_'])
        .trim_end();
    (!value.is_empty()).then_some(value)
}

pub(crate) const MEETING_ID: &[(&str, &str)] = &[
    ("Meeting ID", "en"),
    // Under a personal room's `/my/` link: "My meeting ID is: 806 378 7231" (a public chat log).
    ("Meeting ID is", "en"),
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
    // A Dutch booking mail's Zoom block (github Quasar-Dev-Co/quasarleadsbackup).
    ("Vergader-ID", "nl"),
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
    ("Ідентифікатор конференції", "uk"),
    ("ID Rapat", "id"),
    // A Vietnamese chat broadcast of a meeting ("🔹 ID cuộc họp: …", "🔹 Mật mã: 88").
    ("ID cuộc họp", "vi"),
    // A Turkish event poster ("Toplantı Kimliği: 581 740 2617 · Parola: 103038").
    ("Toplantı Kimliği", "tr"),
    // Zoom's Polish web client (pl-PL.json, apac.dialog.presscode, apac.wc_meetingid) and its
    // Polish help pages.
    ("Identyfikator spotkania", "pl"),
];

pub(crate) const PASSCODE: &[(&str, &str)] = &[
    ("Passcode", "en"),
    ("Password", "en"),
    // "Pass: vJJ9Zu" on the line under the link (a GitHub issue's pasted meeting).
    ("Pass", "en"),
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
    // Zoom's Dutch web client (zoom/meetingsdk-web nl-NL.json, apac.preview.meeting_passcode).
    ("Wachtwoordcode van de vergadering", "nl"),
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
    ("Код доступу", "uk"),
    ("Kode Sandi", "id"),
    ("Mật mã", "vi"),
    ("Parola", "tr"),
    // Zoom's Polish web client (pl-PL.json, apac.wc_tel_password) and help pages.
    ("Kod dostępu", "pl"),
    ("Kod dostępu do spotkania", "pl"),
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
    ("deelnemen aan zoom vergadering", "nl"),
    ("zoomミーティングに参加する", "ja"),
    ("加入 zoom 会议", "zh"),
    ("加入zoom会议", "zh"),
    ("加入 zoom 會議", "zh"),
    ("加入zoom會議", "zh"),
    ("zoom 회의 참가", "ko"),
    ("подключиться к конференции zoom", "ru"),
    ("приєднатися до конференції zoom", "uk"),
    ("zoom toplantısına katılın", "tr"),
    ("bergabung ke rapat zoom", "id"),
];

/// Where the first of [`JOIN_PHRASES`] starts in `v` (a value read from a line), as Zoom's text
/// writes it: all lower-case or with its first letter capital, other ASCII letters in any case
/// ("Join Zoom Meeting", "Подключиться к конференции Zoom"). A flattened invitation runs the
/// join label onto the value before it ("Time: This is a recurring meeting Meet anytime Join
/// Zoom Meeting <link>").
pub(crate) fn join_phrase_at(v: &str) -> Option<usize> {
    // Each form (a phrase, and its capitalised form where that is not ASCII) with where its
    // "zoom" starts: a form is looked for only around each "zoom" of `v` (or, for the one
    // form without it, at each of its first letter), so most values cost two byte searches.
    static FORMS: LazyLock<Vec<(String, Option<usize>)>> = LazyLock::new(|| {
        let mut forms = Vec::new();
        for (p, _) in JOIN_PHRASES {
            forms.push(((*p).to_owned(), p.find("zoom")));
            let mut c = p.chars();
            if let Some(first) = c.next() {
                let cap: String = first.to_uppercase().chain(c).collect();
                if cap.to_ascii_lowercase() != *p {
                    let zoom = cap.find("zoom");
                    forms.push((cap, zoom));
                }
            }
        }
        forms
    });
    let b = v.as_bytes();
    let mut first: Option<usize> = None;
    // A form is lower-case but for a non-ASCII capital, so comparing ASCII letters without
    // case is comparing with `v` lower-cased. A match starts with the form's first byte, a
    // char's first byte: the offset is a boundary of `v`.
    let mut try_at = |start: usize, form: &str| {
        if first.is_none_or(|f| start < f)
            && b[start..]
                .get(..form.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(form.as_bytes()))
        {
            first = Some(start);
        }
    };
    let mut from = 0;
    while let Some(z) = super::url::find_zoom(b, from) {
        for (form, at) in FORMS.iter() {
            if let Some(start) = at.and_then(|at| z.checked_sub(at)) {
                try_at(start, form);
            }
        }
        from = z + 1;
    }
    for (form, _) in FORMS.iter().filter(|(_, at)| at.is_none()) {
        // Every form starts with a letter.
        let lead = form.as_bytes()[0];
        for j in memchr::memchr2_iter(lead, lead.to_ascii_uppercase(), b) {
            try_at(j, form);
        }
    }
    first
}

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
    // Zoom's Dutch web client (zoom/meetingsdk-web nl-NL.json, apac.dialog.dial_in).
    "inbellen op basis van uw locatie",
    // Zoom's Polish web client (pl-PL.json, apac.dialog.dial_in).
    "połącz na podstawie swojej lokalizacji",
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
    // People's own words for a series ("Meetings are held every other week on Mondays",
    // "Weekly on Wednesdays @ 10:00 PT", "When: Every Wednesday @ 16:00 CET": GitHub issues).
    "every other week",
    "every two weeks",
    "biweekly",
    "bi-weekly",
    "weekly on ",
    "every monday",
    "every tuesday",
    "every wednesday",
    "every thursday",
    "every friday",
    "every saturday",
    "every sunday",
    // A weekday of each month ("every first Wednesday of a month at 14:00 CET", "the 2nd and
    // 4th Wednesday of every month": project pages).
    "every first ",
    "every 1st ",
    "every 2nd ",
    "every third ",
    "every 3rd ",
    "every 4th ",
    "every last ",
    "every 2 weeks",
    "of every month",
    "of each month",
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
    // Zoom's Polish web client (pl-PL.json, apac.recurring_meeting "Jest to spotkanie
    // cykliczne") and help pages ("Spotkanie cykliczne").
    "spotkanie cykliczne",
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
    // Also "… mengundang Anda untuk bergabung ke rapat Zoom yang terjadwal." (a church's public
    // schedule page on GitHub).
    (
        r"(?i)^(.+?) mengundang anda (?:untuk bergabung )?ke rapat zoom",
        "id",
    ),
    (
        r"(?i)^(.+?) запрошує (?:вас )?на (?:заплановану )?конференцію zoom",
        "uk",
    ),
    (
        r"(?i)^(.+?) sizi (?:planlanmış )?zoom toplantısına davet ediyor",
        "tr",
    ),
    // The Polish mock of Zoom's mail ("Tomasz Nowak zaprasza Cię na zaplanowane spotkanie
    // Zoom.", a phishing-awareness game's data on GitHub); Zoom's web client writes "{0}
    // zaprasza Cię do …".
    (
        r"(?i)^(.+?) zaprasza cię na (?:zaplanowane )?spotkanie zoom",
        "pl",
    ),
    // Zoom's Korean sentence with its particle placeholder ("ABC이(가) 예약된 Zoom 회의에 귀하를
    // 초대합니다.", a public test of a Korean meeting bot).
    (r"^(.+?)이\(가\) .*초대합니다", "ko"),
    // A shorter Spanish sentence ("REFIVIDRIO le invita a la reunión de Zoom programada.", a
    // Mexican company's mail template on GitHub).
    (
        r"(?i)^(.+?) (?:le|te|los|las) invita a (?:la|una) reunión",
        "es",
    ),
];

/// Every label as it is matched against ASCII-lower-cased text (the fully lower-cased label,
/// and the label with only ASCII lower-cased, for capitals outside ASCII: "Тема", "ÍD"),
/// longest first: the order of [`alternation`].
fn variants(labels: &[(&str, &str)]) -> Vec<String> {
    let mut l: Vec<String> = Vec::new();
    for (label, _) in labels {
        for v in [label.to_lowercase(), label.to_ascii_lowercase()] {
            if !l.contains(&v) {
                l.push(v);
            }
        }
    }
    l.sort_by_key(|s| std::cmp::Reverse(s.chars().count()));
    l
}

/// One of [`variants`] as the hand readers compare it.
struct Variant {
    /// Its runs between spaces (a space stands for `[ \t\-]?`).
    runs: Box<[Run]>,
}

/// A run of a [`Variant`]: its bytes, and its first (up to) eight bytes as [`head_at`] reads
/// them with their mask, so a run of at most eight bytes is compared with one AND and one
/// compare (no call to compare slices).
struct Run {
    bytes: Box<[u8]>,
    head: u64,
    mask: u64,
}

impl Run {
    /// Whether `s` holds this run at `at`.
    #[inline]
    fn at(&self, s: &[u8], at: usize) -> bool {
        // A label's bytes are never 0, so the zeros `head_at` reads past the text's end never
        // match them.
        if self.bytes.len() <= 8 {
            head_at(s, at) & self.mask == self.head
        } else {
            s.get(at..).is_some_and(|r| r.starts_with(&self.bytes))
        }
    }
}

impl Variant {
    fn new(label: &str) -> Self {
        let runs = label
            .split(' ')
            .map(|r| {
                let (head, mask) = head_and_mask(r.as_bytes());
                Run {
                    bytes: r.as_bytes().into(),
                    head,
                    mask,
                }
            })
            .collect();
        Variant { runs }
    }

    /// Where this variant ends when read at the start of `s`, whose first eight bytes are
    /// `head` (see [`head_at`]); the same as the regex's alternative for it.
    #[inline]
    fn read(&self, head: u64, s: &[u8]) -> Option<usize> {
        let (first, rest) = self.runs.split_first()?;
        // Most variants are rejected here; a first run of at most eight bytes is then matched.
        if head & first.mask != first.head {
            return None;
        }
        if first.bytes.len() > 8 && !first.at(s, 0) {
            return None;
        }
        after_run(rest, s, first.bytes.len())
    }
}

/// Where `runs` (joined by `[ \t\-]?`) end when read at `at` in `s`, trying a separator as one
/// character before trying it as none, like the regex.
fn match_runs(runs: &[Run], s: &[u8], at: usize) -> Option<usize> {
    let (run, rest) = runs.split_first()?;
    if !run.at(s, at) {
        return None;
    }
    after_run(rest, s, at + run.bytes.len())
}

/// Where `rest` (the runs after one that ended at `pos`) ends, each after its `[ \t\-]?`.
fn after_run(rest: &[Run], s: &[u8], pos: usize) -> Option<usize> {
    if rest.is_empty() {
        return Some(pos);
    }
    if matches!(s.get(pos), Some(b' ' | b'\t' | b'-')) {
        if let Some(end) = match_runs(rest, s, pos + 1) {
            return Some(end);
        }
    }
    match_runs(rest, s, pos)
}

/// The first (up to) eight bytes of `p` as [`head_at`] reads them, and the mask of those bytes.
fn head_and_mask(p: &[u8]) -> (u64, u64) {
    let n = p.len().min(8);
    let mask = if n == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    };
    (head_at(p, 0) & mask, mask)
}

/// [`variants`] indexed by first byte: the ones a text can match at a position, in order.
pub(crate) struct Variants {
    /// Per first byte, the variants starting with it, in alternation order.
    by_first: Box<[Box<[Variant]>]>,
}

impl Variants {
    fn new(labels: &[(&str, &str)]) -> Self {
        let mut by_first: Vec<Vec<Variant>> = (0..256).map(|_| Vec::new()).collect();
        for v in variants(labels) {
            if let Some(b) = v.as_bytes().first() {
                by_first[usize::from(*b)].push(Variant::new(&v));
            }
        }
        Variants {
            by_first: by_first.into_iter().map(Vec::into_boxed_slice).collect(),
        }
    }

    /// Where each variant that matches at the start of `rest` ends, in alternation order.
    #[inline]
    fn ends<'v>(&'v self, rest: &'v [u8]) -> impl Iterator<Item = usize> + 'v {
        let head = head_at(rest, 0);
        let vs: &[Variant] = match rest.first() {
            Some(b) => &self.by_first[usize::from(*b)],
            None => &[],
        };
        vs.iter().filter_map(move |v| v.read(head, rest))
    }
}

fn alternation(labels: &[(&str, &str)]) -> String {
    variants(labels)
        .iter()
        .map(|s| regex::escape(s).replace(' ', r"[ \t\-]?"))
        .collect::<Vec<_>>()
        .join("|")
}

/// A line-matching regex run only on the lines a [`TextScan`] found one of its words on.
/// Equivalent to one multi-line scan of the whole text with `line` as long as every match of
/// `line` lies within one line and contains one of the words (see [`Words`]).
pub(crate) struct LineScan {
    line: Regex,
    /// For a [`line_label`] scanner: its label variants, in the regex alternation's order, read
    /// by hand instead of running `line`'s capture engines (see [`LineScan::label_at`]).
    labels: Option<Variants>,
    /// For [`ORGANIZER_RE`]: each sentence of [`ORGANIZER`], read by hand instead of running
    /// `line`'s capture engines (see [`Sentence`]).
    sentences: Option<Vec<Sentence>>,
    /// When set, a match's word is the first thing on its line after [`is_label_lead`]
    /// characters only.
    lead: bool,
}

/// One [`ORGANIZER`] pattern `^(.+?)REST`, its REST expanded into literal `heads` (every way
/// its optional parts and alternations can match, in the regex's order of preference) and the
/// literal after a `.*`, if any. The name is the shortest non-empty line prefix followed by a
/// head (and, with a tail, the tail somewhere after that head); the match runs to the head's
/// end, or to the last tail on the line (`.*` is greedy).
struct Sentence {
    heads: Vec<String>,
    tail: Option<String>,
    /// Its [`ORGANIZER_MARKERS`] entry, which every head or the tail holds: a line without it
    /// is not read.
    marker: &'static str,
}

impl Sentence {
    /// REST as [`ORGANIZER_RE`] holds it: literal characters (`\\(` for a parenthesis), `X?` for
    /// one character, `(?:a|b)` and `(?:a|b)?` groups, and at most one `.*` followed by literal
    /// characters.
    fn parse(rest: &str, marker: &'static str) -> Sentence {
        let (head, tail) = match rest.split_once(".*") {
            Some((h, t)) => (h, Some(t.to_owned())),
            None => (rest, None),
        };
        let mut heads = vec![String::new()];
        let mut chars = head.chars().peekable();
        while let Some(c) = chars.next() {
            let mut choices: Vec<String> = if c == '(' {
                let mut group = String::new();
                for g in chars.by_ref() {
                    if g == ')' {
                        break;
                    }
                    group.push(g);
                }
                let group = group.strip_prefix("?:").unwrap_or(&group);
                group.split('|').map(str::to_owned).collect()
            } else if c == '\\' {
                vec![chars.next().unwrap_or('\\').to_string()]
            } else {
                vec![c.to_string()]
            };
            if chars.peek() == Some(&'?') {
                chars.next();
                choices.push(String::new());
            }
            heads = heads
                .iter()
                .flat_map(|h| choices.iter().map(move |c| format!("{h}{c}")))
                .collect();
        }
        Sentence {
            heads,
            tail,
            marker,
        }
    }

    /// (name end, match end) in `line`, if this sentence is on it.
    fn read(&self, line: &str) -> Option<(usize, usize)> {
        let min = line.chars().next()?.len_utf8();
        let mut best: Option<(usize, usize)> = None;
        let b = line.as_bytes();
        for head in &self.heads {
            let Some(p) = find_from(b, head.as_bytes(), min) else {
                continue;
            };
            let after = p + head.len();
            // Without the tail after the head's first occurrence, a later one (with less
            // after it) has none either.
            let end = match &self.tail {
                Some(t) => match rfind_from(b, t.as_bytes(), after) {
                    Some(e) => e + t.len(),
                    None => continue,
                },
                None => after,
            };
            if best.is_none_or(|(b, _)| p < b) {
                best = Some((p, end));
            }
        }
        best
    }
}

/// The first occurrence of `needle` in `hay` at or after `from`: the same as `str::find` on
/// UTF-8 text (a needle that is UTF-8 only matches at a character boundary), without building
/// a substring searcher for a line of a few dozen bytes: each place holding the needle's first
/// byte (found by `memchr`) is compared.
fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let Some(&first) = needle.first() else {
        return (from <= hay.len()).then_some(from);
    };
    let mut i = from;
    while let Some(k) = memchr::memchr(first, hay.get(i..)?) {
        let p = i + k;
        if hay[p..].starts_with(needle) {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

/// The last occurrence of `needle` in `hay` starting at or after `from`, like `str::rfind`
/// on `hay[from..]` (see [`find_from`]).
fn rfind_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let rest = hay.get(from..)?;
    let Some(&first) = needle.first() else {
        return Some(hay.len());
    };
    let mut end = rest.len();
    while let Some(k) = memchr::memrchr(first, &rest[..end]) {
        if rest[k..].starts_with(needle) {
            return Some(from + k);
        }
        end = k;
    }
    None
}

/// What may stand before a label at the start of its line (see [`line_label`]): anything but a
/// letter or a digit. Blanks, quote marks, bullets and Markdown, and the emoji chat pastes put
/// before their labels ("📅 Hora: …", "🔹 Passcode: …"); a line with a word before the label
/// is prose ("Meeting at 10, Time: …"), not a label line.
fn is_label_lead(c: char) -> bool {
    !c.is_alphanumeric()
}

/// [`is_label_lead`] as a regex class (the reference the tests compare it with).
const LABEL_LEAD_CLASS: &str = r"[^\p{Alphabetic}\p{N}\n]";

/// What ends a sentence a line label may follow on its line (see [`opens_label`]).
const SENTENCE_END: [char; 6] = ['.', '。', '!', '?', '！', '？'];

/// An emoji's shortcode, `:alarm_clock:` (GitHub and chat write them for the emoji), as a
/// regex: what may stand before a line label besides [`is_label_lead`] characters.
const SHORTCODE: &str = r":[a-z0-9_+\-]+:";

/// Whether a label at `at` in `line` opens a line label: only [`is_label_lead`] characters and
/// emoji shortcodes stand before it (":alarm_clock: Time:", a GitHub issue), or a sentence that
/// ends right before it, as when an HTML paragraph without breaks is one line ("… is inviting
/// you to a scheduled Zoom meeting. Topic: …"). `leads` is [`lead_runs`] of `line`.
fn opens_label(line: &str, leads: &[bool], at: usize) -> bool {
    leads.get(at) == Some(&true)
        || line[..at]
            .trim_end_matches([' ', '\t'])
            .ends_with(SENTENCE_END)
}

/// Sets `reach` to tell, for each byte offset of `line` (and its end), whether the line up to
/// it is a run of [`is_label_lead`] characters and [`SHORTCODE`]s, worked out from the start
/// (a ':' may open a shortcode or be a lead). Read once per line, not once per label word on
/// it: a long line with many words would otherwise be read again for each (quadratic in the
/// line's length). The reading stops at the first place no run reaches or passes, so prose
/// costs only its first word; every later offset stays `false`. `reach` is the caller's, kept
/// from line to line.
fn lead_runs(line: &str, reach: &mut Vec<bool>) {
    let b = line.as_bytes();
    let code_byte =
        |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'+' | b'-');
    reach.clear();
    reach.resize(b.len() + 1, false);
    reach[0] = true;
    // The furthest offset reached so far: past it, nothing more can be.
    let mut furthest = 0;
    for (i, c) in line.char_indices() {
        if i > furthest {
            break;
        }
        if !reach[i] {
            continue;
        }
        if is_label_lead(c) {
            let end = i + c.len_utf8();
            reach[end] = true;
            furthest = furthest.max(end);
        }
        if c == ':' {
            let run = b[i + 1..].iter().take_while(|&&x| code_byte(x)).count();
            // ASCII bytes up to the closing ':': the end is a char boundary.
            if run > 0 && b.get(i + 1 + run) == Some(&b':') {
                let end = i + run + 2;
                reach[end] = true;
                furthest = furthest.max(end);
            }
        }
    }
}

/// The line holding each hit a [`LineScan`] tries, and that line's [`lead_runs`]: each read
/// once per line, whichever way the hits are walked.
struct HitLine {
    line: Range<usize>,
    /// The line's lead runs, by the line's start (none read yet: `usize::MAX`).
    leads: (usize, Vec<bool>),
}

impl HitLine {
    fn new() -> Self {
        HitLine {
            line: 0..0,
            leads: (usize::MAX, Vec::new()),
        }
    }

    /// Whether `h` lies on the line read last.
    #[inline]
    fn holds(&self, h: usize) -> bool {
        self.line.contains(&h)
    }

    /// The line holding `h`, read anew only when `h` lies outside the last one.
    #[inline]
    fn line(&mut self, text: &str, h: usize) -> Range<usize> {
        if !self.holds(h) {
            let b = text.as_bytes();
            let start = memchr::memrchr(b'\n', &b[..h]).map_or(0, |i| i + 1);
            let end = memchr::memchr(b'\n', &b[h..]).map_or(text.len(), |i| h + i);
            self.line = start..end;
        }
        self.line.clone()
    }

    /// Whether `scan` may read a label at `h`, on the line [`Self::line`] gave for it: always
    /// for a scanner without a lead, else where only lead characters stand before it.
    #[inline]
    fn opens(&mut self, scan: &LineScan, text: &str, h: usize) -> bool {
        if !scan.lead {
            return true;
        }
        let Range { start, end } = self.line;
        if self.leads.0 != start {
            self.leads.0 = start;
            lead_runs(&text[start..end], &mut self.leads.1);
        }
        opens_label(&text[start..end], &self.leads.1, h - start)
    }
}

impl LineScan {
    fn new(line: &str, lead: bool) -> Self {
        LineScan {
            line: Regex::new(line).expect("line regex"),
            labels: None,
            sentences: None,
            lead,
        }
    }

    /// The first line of `text` that `line` matches, with the capture groups' byte ranges in
    /// `text` (`None` for a group that did not take part). `hits` are the start offsets of this
    /// scanner's words in `text`, ascending (from [`TextScan`]).
    pub(crate) fn first(&self, text: &str, hits: &[usize]) -> Option<Vec<Option<Range<usize>>>> {
        self.each(text, hits).next()
    }

    /// The last line before `limit` that `line` matches (a label's line starting before it),
    /// else the first line after: the label nearest above an invitation's join link, where a
    /// text lists several ("Session#1 / Topic: … / Time: …" then "Session#2 / Topic: … /
    /// Time: …" over one link). A [`line_label`]'s hits are read back from the link, so most
    /// texts read only the one line; on a line, the leftmost match counts (as [`Self::each`]
    /// reads it). Each line's extent and lead runs are read once.
    pub(crate) fn nearest_above(
        &self,
        text: &str,
        hits: &[usize],
        limit: usize,
    ) -> Option<Vec<Option<Range<usize>>>> {
        let Some(labels) = &self.labels else {
            // Only a label is read this way; any other pattern gives its first line.
            return self.first(text, hits);
        };
        let m = hits.partition_point(|&h| h < limit);
        let mut at = HitLine::new();
        let mut found: Option<Vec<Option<Range<usize>>>> = None;
        for &h in hits[..m].iter().rev() {
            if found.is_some() && !at.holds(h) {
                // The matching line is read whole: an earlier line is farther from the link.
                break;
            }
            let line = at.line(text, h);
            if at.opens(self, text, h) {
                found = Self::label_groups(labels, text, line, h).or(found);
            }
        }
        found.or_else(|| self.first(text, &hits[m..]))
    }

    /// Every line of `text` that `line` matches, in order, as [`Self::first`] gives the first;
    /// a line once (at its first match).
    pub(crate) fn each<'s>(
        &'s self,
        text: &'s str,
        hits: &'s [usize],
    ) -> impl Iterator<Item = Vec<Option<Range<usize>>>> + 's {
        let mut next_line = 0;
        // The line of the last hit (a later hit on it is not looked for again).
        let mut at = HitLine::new();
        let mut k = 0;
        std::iter::from_fn(move || {
            while let Some(&h) = hits.get(k) {
                k += 1;
                if h < next_line {
                    continue;
                }
                let line = at.line(text, h);
                let (start, end) = (line.start, line.end);
                // A sentence or a whole-line pattern reads the line at once; a label is tried
                // at each of its words (a later one may follow a sentence's end).
                if self.labels.is_none() {
                    next_line = end;
                }
                if !at.opens(self, text, h) {
                    continue;
                }
                if let Some(labels) = &self.labels {
                    if let Some(groups) = Self::label_groups(labels, text, line, h) {
                        next_line = end;
                        return Some(groups);
                    }
                    continue;
                }
                if let Some(sentences) = &self.sentences {
                    let line = &text[start..end];
                    // The markers on this line are among its hits (the hits before `h` lie on
                    // earlier lines); a sentence whose marker is not there cannot match.
                    let on_line = &hits[k - 1..];
                    let on_line = &on_line[..on_line.partition_point(|&x| x < end)];
                    let marked = |s: &Sentence| {
                        on_line
                            .iter()
                            .any(|&x| text.as_bytes()[x..].starts_with(s.marker.as_bytes()))
                    };
                    if let Some((i, (name_end, match_end))) = sentences
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| marked(s))
                        .find_map(|(i, s)| Some((i, s.read(line)?)))
                    {
                        let mut groups = vec![None; sentences.len() + 1];
                        groups[0] = Some(start..start + match_end);
                        groups[i + 1] = Some(start..start + name_end);
                        return Some(groups);
                    }
                    continue;
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
        })
    }

    /// A [`line_label`]'s match at `h` (where one of its words starts) on `line`: the line, the
    /// label and the value, as the regex's groups.
    fn label_groups(
        labels: &Variants,
        text: &str,
        line: Range<usize>,
        h: usize,
    ) -> Option<Vec<Option<Range<usize>>>> {
        let end = line.end;
        let (label_end, value) = Self::label_at(labels, &text[h..end])?;
        Some(vec![
            Some(line),
            Some(h..h + label_end),
            Some(h + value..end),
        ])
    }

    /// A [`line_label`]'s label at `h` in `text` (where one of its words starts) read to `end`,
    /// wherever `h` stands on its line: the label's range and its value's.
    pub(crate) fn label_from(
        &self,
        text: &str,
        h: usize,
        end: usize,
    ) -> Option<(Range<usize>, Range<usize>)> {
        let (label_end, value) = Self::label_at(self.labels.as_ref()?, text.get(h..end)?)?;
        Some((h..h + label_end, h + value..end))
    }

    /// [`line_label`]'s pattern after its lead, read at the start of `rest` (the line from the
    /// label's first word on): the first label variant, in alternation order, followed by
    /// `[ \t*_]*[:：]-?[ \t*_]*`; returns where the label ends and where the value starts. The
    /// same match the regex finds: the label starts right after the lead (no label starts with
    /// a lead character), a space in a label is `[ \t\-]?`, and the separator is deterministic
    /// (its classes hold no colon, and `(.*)$` takes whatever is left).
    fn label_at(labels: &Variants, rest: &str) -> Option<(usize, usize)> {
        let sep = |c: char| matches!(c, ' ' | '\t' | '*' | '_');
        labels.ends(rest.as_bytes()).find_map(|label_end| {
            let after = &rest[label_end..];
            let colon_at = after.len() - after.trim_start_matches(sep).len();
            let after_colon = match after[colon_at..]
                .strip_prefix(':')
                .or_else(|| after[colon_at..].strip_prefix('：'))
            {
                // A dash may follow the colon ("Time:- 11:00 AM", Indian English).
                Some(after_colon) => after_colon.strip_prefix('-').unwrap_or(after_colon),
                // A tab instead of the colon ("Date & Time\tApr 23, 2024 …", a table copied
                // as text): the value starts after the blanks.
                None if after[..colon_at].contains('\t') => &after[colon_at..],
                None => return None,
            };
            let value = rest.len() - after_colon.trim_start_matches(sep).len();
            Some((label_end, value))
        })
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
    let ends: String = SENTENCE_END.iter().collect();
    let pat = format!(
        r"(?m)^(?:(?:{LABEL_LEAD_CLASS}|{SHORTCODE})*|.*?[{ends}][ \t]*)({})(?:[ \t*_]*[:：]-?|[ \t*_]*\t)[ \t*_]*(.*)$",
        alternation(labels)
    );
    let mut scan = LineScan::new(&pat, true);
    scan.labels = Some(Variants::new(labels));
    scan
}

pub(crate) static TOPIC_RE: LazyLock<LineScan> = LazyLock::new(|| line_label(TOPIC));
pub(crate) static TIME_RE: LazyLock<LineScan> = LazyLock::new(|| line_label(TIME));
pub(crate) static TITLE_RE: LazyLock<LineScan> = LazyLock::new(|| line_label(GOOGLE_TITLE));
pub(crate) static TIMEZONE_RE: LazyLock<LineScan> = LazyLock::new(|| line_label(TIMEZONE));

/// A label regex matched anywhere, tried only where a [`TextScan`] found one of the labels'
/// first words: the pattern (anchored at each such start) is read by hand there, and
/// `anchored` (the pattern behind `\A`) runs only where the hand reader meets a character it
/// does not decide (non-ASCII in a separator or value). Yields exactly the matches the
/// unanchored pattern's `captures_iter` yields (every match holds a first word at its start),
/// without running an automaton over the whole text.
pub(crate) struct LabelScan {
    anchored: Regex,
    /// The label variants in the regex alternation's order (see [`variants`]).
    labels: Variants,
    value: LabelValue,
    /// The unanchored pattern (the equivalence test's reference).
    #[cfg(test)]
    pattern: String,
}

/// What follows a [`LabelScan`]'s label, as its pattern says.
#[derive(Clone, Copy)]
enum LabelValue {
    /// `[\s*_]*[:：]-?[\s*_]*([a-z0-9@_*!\-]{1,40})`: a dash may follow the colon
    /// ("Password:- 598398", Indian English)
    Passcode,
    /// `[\s*_]*(?:[:：]-?)?[\s*_]*(\d[\d \-‐.]{5,20}\d)`
    MeetingId,
}

/// Why the hand reader of a [`LabelScan`] gave up at a hit: the regex decides there.
struct Undecided;

/// An ASCII character of `[\s*_]` (Unicode `\s` holds no other ASCII character).
fn sep_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b'*' | b'_')
}

/// The end of the run of `[\s*_]` starting at `i` in `s`, or [`Undecided`] when it stops at a
/// non-ASCII character other than `：` (which could be Unicode white space).
fn skip_sep(s: &[u8], mut i: usize) -> Result<usize, Undecided> {
    while i < s.len() && sep_byte(s[i]) {
        i += 1;
    }
    match s.get(i) {
        Some(b) if *b >= 0x80 && !s[i..].starts_with("：".as_bytes()) => Err(Undecided),
        _ => Ok(i),
    }
}

/// A full-width colon `：` at `i` (its UTF-8 bytes), else an ASCII one.
fn colon_at(s: &[u8], i: usize) -> Option<usize> {
    if s.get(i) == Some(&b':') {
        Some(i + 1)
    } else if s[i.min(s.len())..].starts_with("：".as_bytes()) {
        Some(i + "：".len())
    } else {
        None
    }
}

impl LabelScan {
    fn new(labels: &[(&str, &str)], value: LabelValue) -> Self {
        let pattern = match value {
            LabelValue::Passcode => format!(
                r"({})(?:[\s*_]*[:：]-?[\s*_]*|[ \t*_]*\t[ \t*_]*)([a-z0-9@_*!\-]{{1,40}})",
                alternation(labels)
            ),
            LabelValue::MeetingId => format!(
                r"({})[\s*_]*(?:[:：]-?)?[\s*_]*(\d[\d \-‐.]{{5,20}}\d)",
                alternation(labels)
            ),
        };
        LabelScan {
            anchored: Regex::new(&format!(r"\A(?:{pattern})")).expect("label regex"),
            labels: Variants::new(labels),
            value,
            #[cfg(test)]
            pattern,
        }
    }

    /// The pattern read at the start of `rest`: (label end, value range, match end), `None`
    /// when no variant matches there. Same result as the anchored regex: the variants are tried
    /// in its alternation order, a label matches in one way only (see [`match_runs`]), the
    /// separators are maximal runs (their classes hold no colon, and no digit), and what a
    /// greedy value may give back is worked out below.
    fn read_at(&self, rest: &str) -> Result<Option<(usize, Range<usize>)>, Undecided> {
        let b = rest.as_bytes();
        for label_end in self.labels.ends(b) {
            let sep = skip_sep(b, label_end)?;
            let value = match self.value {
                LabelValue::Passcode => {
                    let class = |c: u8| {
                        c.is_ascii_lowercase()
                            || c.is_ascii_digit()
                            || matches!(c, b'@' | b'_' | b'*' | b'!' | b'-')
                    };
                    let run =
                        |from: usize| b[from..].iter().take(40).take_while(|c| class(**c)).count();
                    let by_colon = match colon_at(b, sep) {
                        Some(after_colon) => {
                            let dash = usize::from(b.get(after_colon) == Some(&b'-'));
                            let v0 = skip_sep(b, after_colon + dash)?;
                            let n = run(v0);
                            if n > 0 {
                                Some(v0..v0 + n)
                            } else {
                                // The separator gives back its last `*` or `_`: a one-character
                                // value (white space or the refused character follows it).
                                (after_colon..v0)
                                    .rev()
                                    .find(|&k| class(b[k]))
                                    .map(|k| k..k + run(k))
                            }
                        }
                        None => None,
                    };
                    match by_colon {
                        Some(v) => v,
                        None => {
                            // A tab instead of the colon, on the label's line ("Passcode\t417531",
                            // a table copied as text).
                            let blanks = b[label_end..]
                                .iter()
                                .take_while(|c| matches!(c, b' ' | b'\t' | b'*' | b'_'))
                                .count();
                            if !b[label_end..label_end + blanks].contains(&b'\t') {
                                continue;
                            }
                            let v0 = label_end + blanks;
                            match run(v0) {
                                // What the blanks could give back is the regex's to work out.
                                0 => return Err(Undecided),
                                n => v0..v0 + n,
                            }
                        }
                    }
                }
                LabelValue::MeetingId => {
                    let v0 = match colon_at(b, sep) {
                        Some(after_colon) => {
                            let dash = usize::from(b.get(after_colon) == Some(&b'-'));
                            skip_sep(b, after_colon + dash)?
                        }
                        None => sep,
                    };
                    match b.get(v0) {
                        Some(c) if c.is_ascii_digit() => {}
                        Some(c) if *c >= 0x80 => return Err(Undecided),
                        _ => continue,
                    }
                    // `\d[\d \-‐.]{5,20}\d`: the last digit among the 21 characters after
                    // the first, at least 6 characters after it.
                    let tail = &b[v0 + 1..(v0 + 22).min(b.len())];
                    let class_len = tail
                        .iter()
                        .take_while(|c| c.is_ascii_digit() || matches!(c, b' ' | b'-' | b'.'))
                        .count();
                    if class_len < tail.len() && tail[class_len] >= 0x80 {
                        return Err(Undecided);
                    }
                    match (5..class_len).rev().find(|&m| tail[m].is_ascii_digit()) {
                        Some(m) => v0..v0 + m + 2,
                        None => continue,
                    }
                }
            };
            return Ok(Some((label_end, value)));
        }
        Ok(None)
    }

    /// Every match in `text`, in order, as (group 1, group 2) byte ranges. `hits` are the start
    /// offsets of the labels' first words in `text`, ascending (from [`TextScan`]).
    pub(crate) fn all(&self, text: &str, hits: &[usize]) -> Vec<(Range<usize>, Range<usize>)> {
        let mut out = Vec::new();
        let mut at = 0;
        // Made only when the regex has to decide (it allocates).
        let mut locs = None;
        for &h in hits {
            if h < at {
                continue;
            }
            let found = match self.read_at(&text[h..]) {
                Ok(found) => found
                    .map(|(label_end, v)| (h + v.end, (h..h + label_end, h + v.start..h + v.end))),
                Err(Undecided) => {
                    let locs = locs.get_or_insert_with(|| self.anchored.capture_locations());
                    self.anchored
                        .captures_read(locs, &text[h..])
                        .and_then(|all| {
                            let (g1, g2) = (locs.get(1)?, locs.get(2)?);
                            Some((h + all.end(), (h + g1.0..h + g1.1, h + g2.0..h + g2.1)))
                        })
                }
            };
            match found {
                Some((end, groups)) => {
                    out.push(groups);
                    at = end;
                }
                // A match may still start inside this word (a shorter label within it): the
                // next hit is tried.
                None => at = h + 1,
            }
        }
        out
    }
}

/// Passcode labels anywhere in a line: group 1 the label, group 2 the value.
pub(crate) static PASSCODE_RE: LazyLock<LabelScan> =
    LazyLock::new(|| LabelScan::new(PASSCODE, LabelValue::Passcode));

/// Meeting-ID labels anywhere in a line: group 1 the label, group 2 the digits.
pub(crate) static MEETING_ID_RE: LazyLock<LabelScan> =
    LazyLock::new(|| LabelScan::new(MEETING_ID, LabelValue::MeetingId));

/// Words every organizer sentence holds, as [`ORGANIZER`] matches them on ASCII-lower-cased
/// text (each alternative's fixed middle part), one per sentence in [`ORGANIZER`]'s order:
/// they pick the lines the organizer regex is run on, and the sentences read on a line.
const ORGANIZER_MARKERS: &[&str] = &[
    "is inviting you to a ",
    "lädt sie zu einem ",
    "está invitando a una reunión",
    "vous invite à une réunion",
    "ti sta invitando a una riunione",
    "está convidando você para uma reunião",
    "nodigt u uit voor een",
    "招待しています",
    "邀请您参加",
    "邀請您參加",
    "초대합니다",
    "приглашает вас",
    "ke rapat zoom",
    "запрошує ",
    "zoom toplantısına davet ediyor",
    "zaprasza cię na ",
    "초대합니다",
    " invita a ",
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
    let mut scan = LineScan::new(&format!("(?m)^(?:{})", alts.join("|")), false);
    scan.sentences = Some(
        ORGANIZER
            .iter()
            .zip(ORGANIZER_MARKERS)
            .map(|((p, _), marker)| {
                let rest = match p.strip_prefix("(?i)") {
                    Some(r) => r.to_ascii_lowercase(),
                    None => (*p).to_owned(),
                };
                Sentence::parse(rest.strip_prefix("^(.+?)").unwrap_or(&rest), marker)
            })
            .collect(),
    );
    scan
});

/// True when a trimmed, ASCII-lower-cased line opens with a phone-part header; the same as
/// [`PHONE_HEADER_RE`] on that line: no header starts with a lead character, so a line
/// matches when, after all its lead characters, one of the headers starting with its next
/// byte is a prefix. (Given several lines, the regex decides, after a look at the first
/// line's first letter, as it always did.)
pub(crate) fn is_phone_header(low_line: &str) -> bool {
    /// [`PHONE_HEADERS`] by first byte.
    static BY_FIRST: LazyLock<Vec<Vec<&'static str>>> = LazyLock::new(|| {
        let mut by_first = vec![Vec::new(); 256];
        for h in PHONE_HEADERS {
            if let Some(b) = h.as_bytes().first() {
                by_first[usize::from(*b)].push(*h);
            }
        }
        by_first
    });
    let opens = |line: &str| {
        let body = line.trim_start_matches([' ', '\t', '•', '·', '*', '-']);
        body.as_bytes().first().is_some_and(|b| {
            BY_FIRST[usize::from(*b)]
                .iter()
                .any(|h| body.starts_with(h))
        })
    };
    if low_line.contains('\n') {
        let body = low_line.trim_start_matches([' ', '\t', '•', '·', '*', '-']);
        let first = body.chars().next().unwrap_or('\n');
        return PHONE_HEADERS.iter().any(|h| h.starts_with(first))
            && PHONE_HEADER_RE.is_match(low_line);
    }
    opens(low_line)
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

/// Every phrase of every phrase list, each with what it says; a phrase also carries what every
/// phrase inside it says ("join zoom webinar" is a webinar), since a scan reports only the
/// longer of two nested phrases.
static PHRASES: LazyLock<PhraseTable> = LazyLock::new(|| {
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
    table
});

/// Word lists a [`TextScan`] finds, as bits of [`Words::kinds`].
const PASSCODE_WORD: u16 = 1;
const MEETING_ID_WORD: u16 = 2;
const TOPIC_WORD: u16 = 4;
const TIME_WORD: u16 = 8;
const TITLE_WORD: u16 = 16;
const ORGANIZER_WORD: u16 = 32;
const PHONE_HEADER_WORD: u16 = 64;
/// Zoom's 2017-2019 "Join from PC, Mac" (checked case-sensitively on the original text).
const OLD_FORMAT_WORD: u16 = 128;
const TIMEZONE_WORD: u16 = 256;
const OLD_FORMAT: [&str; 2] = ["Join from PC, Mac", "join from PC, Mac"];

/// A word's entry when it is a phrase: what it says, and its join-phrase language.
type PhraseEntry = (PhraseFlags, Option<&'static str>);

/// Every word the label scanners start from and every phrase, found in one pass per text that
/// reports every occurrence of every word (overlapping ones included, as an overlapping
/// Aho-Corasick search would), so each list sees its own words exactly as a search for that
/// list alone would. Most positions of a text start no word: a 3-byte window hashed into a
/// small bit set (it fits in L1) rejects them with a few instructions each, where a
/// ~400-word automaton walked byte by byte cost several nanoseconds a byte; only the words
/// whose first three bytes hash to a set bit are compared there.
struct Words {
    patterns: Vec<String>,
    /// Per pattern: which word lists it belongs to (the reference scan's; the scan reads
    /// [`Entry::kinds`]).
    #[cfg(test)]
    kinds: Vec<u16>,
    /// Per pattern: its phrase entry, when it is a phrase.
    phrase: Vec<Option<PhraseEntry>>,
    /// Bit h set when some pattern can start a text window that hashes to h: its first three
    /// bytes, or, shorter, itself followed by any byte (see [`window_hash`]).
    filter: Box<[u64; FILTER_WORDS]>,
    /// Per 64-bit word of `filter`: how many bits are set in the words before it. A set bit's
    /// rank (this plus the set bits below it in its word) numbers its bucket.
    rank_base: Box<[u16; FILTER_WORDS]>,
    /// Per bucket, by rank: where it starts in `entries`. With `rank_base`, 2 KiB and a few
    /// more beside the filter's 8 KiB, where a start per hash value took 128 KiB: a hit read
    /// one line of that table from outside the first-level cache, on hardware, at almost every
    /// hit once other work (another message) had passed through the cache.
    bucket: Box<[u16]>,
    /// The buckets, each a run of patterns in pattern order ending at one marked `last`: each
    /// with what a hit compares, inline, so a window whose bit is set but that starts no word
    /// costs one or two loads more.
    entries: Vec<Entry>,
}

/// A pattern as [`Words::read_at`] compares it.
#[derive(Clone, Copy)]
struct Entry {
    /// Its first (up to) eight bytes as [`head_at`] reads them, and the mask of those bytes.
    head: u64,
    mask: u64,
    /// Its index in [`Words::patterns`].
    id: u16,
    /// Its length in bytes: only a pattern longer than eight bytes is compared further.
    len: u16,
    /// Its [`Words::kinds`], and whether it is a phrase.
    kinds: u16,
    phrase: bool,
    /// The last entry of its bucket.
    last: bool,
}

/// Bits of [`window_hash`]: 65,536 bits (8 KiB) for a few hundred 3-byte prefixes, so a
/// window that starts no word rarely hits a set bit.
const FILTER_BITS: u32 = 16;
const FILTER_WORDS: usize = 1 << (FILTER_BITS - 6);

/// The bucket of the 3-byte window `w` (first byte lowest; bytes past the text's end are 0).
#[inline]
fn window_hash(w: u32) -> usize {
    hash4(w)
}

/// [`window_hash`] of the first three bytes of the four-byte `w4` (first byte lowest): the
/// shift drops the fourth, so the scan hashes a plain four-byte load.
#[inline(always)]
fn hash4(w4: u32) -> usize {
    ((w4 << 8).wrapping_mul(0x9E37_79B1) >> (32 - FILTER_BITS)) as usize
}

/// The eight bytes of `b` from `i` (first byte lowest), 0 past the end.
#[inline]
fn head_at(b: &[u8], i: usize) -> u64 {
    // Most reads are whole: a plain load, not a copy of a variable length (a memcpy call).
    if let Some(&whole) = b.get(i..).and_then(|r| r.first_chunk::<8>()) {
        return u64::from_le_bytes(whole);
    }
    let mut buf = [0u8; 8];
    let rest = b.get(i..).unwrap_or(&[]);
    let n = rest.len().min(8);
    buf[..n].copy_from_slice(&rest[..n]);
    u64::from_le_bytes(buf)
}

/// The 3-byte window of `b` at `i` (first byte lowest), 0 past the end.
fn window_at(b: &[u8], i: usize) -> u32 {
    let at = |j: usize| u32::from(b.get(j).copied().unwrap_or(0));
    at(i) | at(i + 1) << 8 | at(i + 2) << 16
}

impl Words {
    fn new(entries: Vec<(String, u16, Option<PhraseEntry>)>) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        let mut kinds: Vec<u16> = Vec::new();
        let mut phrase: Vec<Option<PhraseEntry>> = Vec::new();
        for (word, kind, entry) in entries {
            let i = match patterns.iter().position(|p| *p == word) {
                Some(i) => i,
                None => {
                    patterns.push(word);
                    kinds.push(0);
                    phrase.push(None);
                    patterns.len() - 1
                }
            };
            kinds[i] |= kind;
            if entry.is_some() {
                phrase[i] = entry;
            }
        }
        let id = |i: usize| u16::try_from(i).expect("fewer than 65,536 words");
        let mut filter = Box::new([0u64; FILTER_WORDS]);
        let mut hashed: Vec<(usize, u16)> = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            for h in pattern_hashes(p.as_bytes()) {
                filter[h >> 6] |= 1 << (h & 63);
                hashed.push((h, id(i)));
            }
        }
        hashed.sort_unstable();
        hashed.dedup();
        // Buckets in hash order (so in rank order), each bucket's patterns in pattern order.
        let mut bucket: Vec<u16> = Vec::new();
        let mut bucket_entries: Vec<Entry> = Vec::new();
        let mut last = None;
        for (h, i) in hashed {
            if last != Some(h) {
                if let Some(prev) = bucket_entries.last_mut() {
                    prev.last = true;
                }
                bucket.push(id(bucket_entries.len()));
                last = Some(h);
            }
            let p = patterns[usize::from(i)].as_bytes();
            let (head, mask) = head_and_mask(p);
            bucket_entries.push(Entry {
                head,
                mask,
                id: i,
                len: u16::try_from(p.len()).expect("words are short"),
                kinds: kinds[usize::from(i)],
                phrase: phrase[usize::from(i)].is_some(),
                last: false,
            });
        }
        if let Some(prev) = bucket_entries.last_mut() {
            prev.last = true;
        }
        let mut rank_base = Box::new([0u16; FILTER_WORDS]);
        let mut set = 0u32;
        for (base, word) in rank_base.iter_mut().zip(filter.iter()) {
            *base = u16::try_from(set).expect("fewer than 65,536 buckets");
            set += word.count_ones();
        }
        Words {
            patterns,
            #[cfg(test)]
            kinds,
            phrase,
            filter,
            rank_base,
            bucket: bucket.into_boxed_slice(),
            entries: bucket_entries,
        }
    }

    /// The entries from the bucket of hash `h` (whose filter bit is set) on: its patterns
    /// are those up to the first one marked `last`. [`Scan::hit`] walks them with a plain
    /// loop, where an iterator stopping after `last` kept a flag per step.
    #[inline]
    fn bucket_from(&self, h: usize) -> &[Entry] {
        let from = self
            .bucket
            .get(self.rank(h))
            .map_or(self.entries.len(), |&b| usize::from(b));
        self.entries.get(from..).unwrap_or(&[])
    }

    /// The number of `filter` bits set below bit `h`: the bucket number of a set bit `h`.
    #[inline]
    fn rank(&self, h: usize) -> usize {
        let (w, bit) = (h >> 6 & (FILTER_WORDS - 1), h & 63);
        let below = self.filter[w] & ((1u64 << bit) - 1);
        usize::from(self.rank_base[w]) + below.count_ones() as usize
    }
}

/// The hashes of the text windows pattern `p` can start: of its first three bytes, or, when it
/// is shorter ("id"), of it followed by any bytes (it stands in every window it opens).
fn pattern_hashes(p: &[u8]) -> impl Iterator<Item = usize> {
    let w = window_at(p, 0);
    let (known, free) = match p.len() {
        0 => (0, None),
        1 => (w & 0xff, Some(0xffff)),
        2 => (w & 0xffff, Some(0xff)),
        _ => (w, Some(0)),
    };
    let shift = 8 * p.len().min(3);
    free.into_iter()
        .flat_map(move |free| (0..=free).map(move |rest| window_hash(known | rest << shift)))
}

/// Every word list and phrase list as (word, kind bits, phrase entry).
fn word_entries() -> Vec<(String, u16, Option<PhraseEntry>)> {
    let mut entries = Vec::new();
    for (list, kind) in [
        (PASSCODE, PASSCODE_WORD),
        (MEETING_ID, MEETING_ID_WORD),
        (TOPIC, TOPIC_WORD),
        (TIME, TIME_WORD),
        (GOOGLE_TITLE, TITLE_WORD),
        (TIMEZONE, TIMEZONE_WORD),
    ] {
        for w in first_words(list) {
            entries.push((w, kind, None));
        }
    }
    for m in ORGANIZER_MARKERS {
        entries.push((m.to_string(), ORGANIZER_WORD, None));
    }
    for h in PHONE_HEADERS {
        entries.push((h.to_string(), PHONE_HEADER_WORD, None));
    }
    entries.push((OLD_FORMAT[0].to_ascii_lowercase(), OLD_FORMAT_WORD, None));
    for (p, entry) in PHRASES.iter() {
        entries.push((p.clone(), 0, Some(*entry)));
    }
    entries
}

static WORDS: LazyLock<Words> = LazyLock::new(|| Words::new(word_entries()));

/// The start offsets of one word list's words in a text, ascending: the first twelve in place
/// (smallvec's small vector), on the heap only past that. Most texts hit each list a few times,
/// so a scan mostly allocates nothing, where a vector per list hit cost an allocation and a free
/// each. Reads as a slice (`&scan.passcode` is a `&[usize]`).
pub(crate) type Hits = smallvec::SmallVec<[usize; 12]>;

/// What one pass over an ASCII-lower-cased text found: the start offsets of each label list's
/// words (ascending, for [`LabelScan::all`] and [`LineScan::first`]), the phrase flags and
/// join-phrase languages, and whether a phone header opens a line.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TextScan {
    pub passcode: Hits,
    pub meeting_id: Hits,
    pub topic: Hits,
    pub time: Hits,
    pub title: Hits,
    pub organizer: Hits,
    pub timezone: Hits,
    pub flags: PhraseFlags,
    /// Where each phrase that sets a webinar, personal or recurring flag starts, with its
    /// flags, ascending: on a page listing several meetings, a phrase speaks of the nearest
    /// one ([`TextScan::meeting_hits`]).
    pub flag_hits: smallvec::SmallVec<[(usize, PhraseFlags); 4]>,
    /// Languages of the join phrases found, in order of first appearance.
    pub join_langs: Vec<&'static str>,
    /// A phone/SIP header opens a line (after blanks, bullets, `*` or `-`).
    pub phone_header: bool,
    /// The original text holds "Join from PC, Mac" or "join from PC, Mac".
    pub old_format: bool,
}

impl TextScan {
    /// Records a word of lists `kinds` found at `start` of `low` (`text`'s lower-cased copy).
    fn record(&mut self, kinds: u16, start: usize, text: &str, low: &str) {
        // Positions come in ascending order; two words of one list may start at one position.
        let push = |bit: u16, v: &mut Hits| {
            if kinds & bit != 0 && v.last() != Some(&start) {
                v.push(start);
            }
        };
        push(PASSCODE_WORD, &mut self.passcode);
        push(MEETING_ID_WORD, &mut self.meeting_id);
        push(TOPIC_WORD, &mut self.topic);
        push(TIME_WORD, &mut self.time);
        push(TITLE_WORD, &mut self.title);
        push(ORGANIZER_WORD, &mut self.organizer);
        push(TIMEZONE_WORD, &mut self.timezone);
        if kinds & PHONE_HEADER_WORD != 0 && !self.phone_header {
            // Same as `PHONE_HEADER_RE` matching: only lead characters before it on its line.
            // Read back from the word, not forward from the line's start: on a long line with
            // many such words, each would read the whole line before it again.
            self.phone_header = low[..start]
                .chars()
                .rev()
                .take_while(|&c| c != '\n')
                .all(|c| matches!(c, ' ' | '\t' | '•' | '·' | '*' | '-'));
        }
        if kinds & OLD_FORMAT_WORD != 0 && !self.old_format {
            self.old_format = OLD_FORMAT.iter().any(|w| text[start..].starts_with(w));
        }
    }

    /// The flags of the phrases that speak of one meeting ([`TextScan::meeting_hits`]), and
    /// Google's flag, which is the whole text's.
    pub(crate) fn meeting_flags(
        &self,
        links: impl Iterator<Item = (usize, bool)> + Clone,
    ) -> PhraseFlags {
        let mut f = PhraseFlags {
            google: self.flags.google,
            ..PhraseFlags::default()
        };
        for (_, hit) in self.meeting_hits(links) {
            f.webinar |= hit.webinar;
            f.personal |= hit.personal;
            f.recurring |= hit.recurring;
        }
        f
    }

    /// The webinar, personal and recurring phrases that speak of one meeting, `links` being
    /// where each join link of the text starts and whether it is to that meeting: a phrase
    /// counts unless a link to another meeting is nearer to it than every link to this one. A
    /// text about one meeting keeps every phrase; on a page of two seminars, "join the
    /// webinar" over the second one's link does not make the first a webinar.
    pub(crate) fn meeting_hits<'s>(
        &'s self,
        links: impl Iterator<Item = (usize, bool)> + Clone + 's,
    ) -> impl Iterator<Item = (usize, PhraseFlags)> + 's {
        // With many links, those to this meeting and to others are sorted apart, and the
        // nearest of each to a phrase is found by halving, not by reading every link for every
        // phrase; a few (most texts) are read as they are, without the copies.
        let many = links.clone().nth(8).is_some();
        let (mut same, mut other): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        if many {
            for (pos, s) in links.clone() {
                if s {
                    same.push(pos)
                } else {
                    other.push(pos)
                }
            }
            same.sort_unstable();
            other.sort_unstable();
        }
        let nearest = move |want: bool, at: usize| {
            if !many {
                return links
                    .clone()
                    .filter(|&(_, s)| s == want)
                    .map(|(pos, _)| pos.abs_diff(at))
                    .min();
            }
            let sorted = if want { &same } else { &other };
            let k = sorted.partition_point(|&p| p < at);
            let after = sorted.get(k).map(|&p| p - at);
            let before = k.checked_sub(1).map(|k| at - sorted[k]);
            after.into_iter().chain(before).min()
        };
        self.flag_hits
            .iter()
            .copied()
            .filter(move |&(at, _)| match nearest(false, at) {
                None => true,
                Some(o) => nearest(true, at).is_none_or(|d| d <= o),
            })
    }

    fn take_phrase(&mut self, start: usize, (f, lang): PhraseEntry) {
        if f.webinar || f.personal || f.recurring {
            self.flag_hits.push((start, f));
        }
        self.flags.webinar |= f.webinar;
        self.flags.personal |= f.personal;
        self.flags.recurring |= f.recurring;
        self.flags.google |= f.google;
        if let Some(l) = lang {
            if !self.join_langs.contains(&l) {
                self.join_langs.push(l);
            }
        }
    }
}

/// A [`scan_text`] in progress: what it found so far, and what a hit reads.
struct Scan<'t> {
    words: &'t Words,
    text: &'t str,
    low: &'t str,
    out: TextScan,
    /// The end of the last phrase reported. The phrases a leftmost-longest, non-overlapping
    /// scan reports: at the leftmost start not inside an earlier reported phrase, the longest
    /// phrase starting there. Starts come in ascending order, so each is decided once its
    /// position is done.
    taken_to: usize,
}

impl Scan<'_> {
    /// Records every pattern found at `start` (whose window's filter bit is set) and the
    /// longest phrase among them. Kept out of the scan loop, which then holds few values.
    #[inline(never)]
    fn hit(&mut self, start: usize, h: usize) {
        let words = self.words;
        let Some(rest) = self.low.as_bytes().get(start..) else {
            return;
        };
        let head = head_at(rest, 0);
        let mut longest: Option<(usize, PhraseEntry)> = None;
        for e in words.bucket_from(h) {
            // A pattern's bytes are never 0, so the zeros `head` holds past the text's end
            // never match them.
            if head & e.mask == e.head {
                let id = usize::from(e.id);
                if e.len <= 8 || rest.starts_with(words.patterns[id].as_bytes()) {
                    self.out.record(e.kinds, start, self.text, self.low);
                    if let Some(entry) = words.phrase[id].filter(|_| e.phrase) {
                        let len = usize::from(e.len);
                        if longest.is_none_or(|(l, _)| len > l) {
                            longest = Some((len, entry));
                        }
                    }
                }
            }
            if e.last {
                break;
            }
        }
        if let Some((len, entry)) = longest {
            if start >= self.taken_to {
                self.taken_to = start + len;
                self.out.take_phrase(start, entry);
            }
        }
    }
}

/// Scans `low` (the ASCII-lower-cased copy of `text`, same byte offsets) once for every word
/// list and phrase.
pub(crate) fn scan_text(text: &str, low: &str) -> TextScan {
    let words = &*WORDS;
    let filter: &[u64; FILTER_WORDS] = &words.filter;
    let b = low.as_bytes();
    let mut scan = Scan {
        words,
        text,
        low,
        out: TextScan::default(),
        taken_to: 0,
    };
    let set = |h: usize| filter[h >> 6] & (1 << (h & 63)) != 0;
    // Six windows from each eight-byte load (the hash drops what lies past a window's three
    // bytes: no byte assembly, no bounds check), then the last positions one by one (their
    // windows padded with zeros past the end).
    let mut i = 0;
    while let Some(chunk) = b.get(i..).and_then(|r| r.first_chunk::<8>()) {
        let x = u64::from_le_bytes(*chunk);
        for k in 0..6 {
            let h = hash4((x >> (8 * k)) as u32);
            if set(h) {
                scan.hit(i + k, h);
            }
        }
        i += 6;
    }
    for start in i..b.len() {
        let h = window_hash(window_at(b, start));
        if set(h) {
            scan.hit(start, h);
        }
    }
    scan.out
}

/// The language of a matched label text.
pub(crate) fn lang_of(table: &[(&str, &'static str)], matched: &str) -> Option<&'static str> {
    // Compared character by character as normalized, without collecting either side.
    fn norm(s: &str) -> impl Iterator<Item = char> + '_ {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_lowercase)
    }
    let exact = table.iter().find(|(l, _)| l.eq_ignore_ascii_case(matched));
    exact
        .or_else(|| table.iter().find(|(l, _)| norm(l).eq(norm(matched))))
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

/// A word of at most 16 bytes, ASCII-lower-cased, as one integer (first byte lowest, zeros
/// after it).
fn packed(w: &[u8]) -> Option<u128> {
    let mut buf = [0u8; 16];
    buf.get_mut(..w.len())?.copy_from_slice(w);
    buf.make_ascii_lowercase();
    Some(u128::from_le_bytes(buf))
}

/// A word lower-cased character by character, as its byte length and [`packed`]; `None` once
/// longer than 16 bytes. The same as packing `w.to_lowercase()` wherever that can be a
/// stopword: only a final capital sigma lower-cases differently, and no stopword holds one.
fn packed_lower(w: &str) -> Option<(usize, u128)> {
    let mut buf = [0u8; 16];
    let mut n = 0;
    for c in w.chars().flat_map(char::to_lowercase) {
        let end = n + c.len_utf8();
        c.encode_utf8(buf.get_mut(n..end)?);
        n = end;
    }
    Some((n, u128::from_le_bytes(buf)))
}

/// Slots of [`STOPWORD_TABLE`]: a power of two, a few times the number of stopwords.
const STOPWORD_SLOTS: usize = 256;

/// The longest stopword in bytes: an ASCII word longer than this is none.
const STOPWORD_MAX: usize = 11;

/// The slot a [`packed`] word hashes to in [`STOPWORD_TABLE`].
#[inline]
fn stopword_slot(key: u128) -> usize {
    let x = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % STOPWORD_SLOTS
}

/// Every word of [`STOPWORDS`] in an open-addressed table: (the word [`packed`], the bit of
/// each language (its index) using it), an empty slot being key 0 (no word packs to 0). A
/// text's word is then found with one hash and, mostly, one compare, where a list per length
/// was walked word by word. No two words of different lengths pack alike (no word holds a NUL
/// byte), so one table serves every length.
static STOPWORD_TABLE: LazyLock<Box<[(u128, u8); STOPWORD_SLOTS]>> = LazyLock::new(|| {
    let mut table = Box::new([(0u128, 0u8); STOPWORD_SLOTS]);
    for (i, (_, list)) in STOPWORDS.iter().enumerate() {
        for w in *list {
            let key = packed(w.as_bytes()).expect("stopwords are at most 16 bytes");
            let mut slot = stopword_slot(key);
            while table[slot].0 != 0 && table[slot].0 != key {
                slot = (slot + 1) % STOPWORD_SLOTS;
            }
            table[slot].0 = key;
            table[slot].1 |= 1 << i;
        }
    }
    table
});

/// The languages (bits, see [`STOPWORD_TABLE`]) using the [`packed`] word `key`, 0 for none.
#[inline]
fn stopword_bits(table: &[(u128, u8); STOPWORD_SLOTS], key: u128) -> u8 {
    let mut slot = stopword_slot(key);
    // The table is never full, so an empty slot ends every probe.
    for _ in 0..STOPWORD_SLOTS {
        match table.get(slot) {
            Some(&(k, bits)) if k == key => return bits,
            Some(&(0, _)) | None => return 0,
            _ => slot = (slot + 1) % STOPWORD_SLOTS,
        }
    }
    0
}

/// An ASCII word of `len` (at most 16) letters at `start` of `b`, lower-cased, as [`packed`]
/// gives it: read as two eight-byte loads (zeros past the text), masked to the word, with
/// 0x20 set in each of its bytes (the lower case of an ASCII letter), without copying it.
#[inline]
fn packed_ascii_word(b: &[u8], start: usize, len: usize) -> u128 {
    let mask = |n: usize| match n {
        0 => 0,
        1..=7 => (1u64 << (8 * n)) - 1,
        _ => u64::MAX,
    };
    let (lo_mask, hi_mask) = (mask(len), mask(len.saturating_sub(8)));
    let lo = (head_at(b, start) & lo_mask) | (0x2020_2020_2020_2020 & lo_mask);
    let hi = if len > 8 {
        (head_at(b, start + 8) & hi_mask) | (0x2020_2020_2020_2020 & hi_mask)
    } else {
        0
    };
    u128::from(lo) | u128::from(hi) << 64
}

/// The non-ASCII characters whose lower case is made of characters of [`STOPWORDS`] only (as
/// a test works out over every character): a word holding any other non-ASCII character
/// lower-cases to a word no list holds, and is not lower-cased at all.
const STOPWORD_FOLDS: [char; 6] = ['Ã', 'Ê', 'Ó', 'ã', 'ê', 'ó'];

/// `char::is_alphabetic` for a non-ASCII character, answered without its table search in the
/// ranges Latin texts mostly use: Latin-1 and Latin Extended-A/B letters (all alphabetic but
/// `×` and `÷`) and General Punctuation (none alphabetic: the curly quotes, dashes and
/// spaces between words). A test compares it with `is_alphabetic` over both ranges.
#[inline]
fn alphabetic(c: char) -> bool {
    match u32::from(c) {
        0xC0..=0x24F => c != '×' && c != '÷',
        0x2000..=0x206F => false,
        _ => c.is_alphabetic(),
    }
}

/// The language whose common words a Latin-script text uses most, if any stands out.
///
/// Words are the runs of alphabetic characters (as splitting at every other character gives
/// them), the first 5,000 counted. The text is walked byte by byte: an ASCII byte is a letter
/// or a break by itself, and only a non-ASCII character is decoded to ask whether it is
/// alphabetic ([`alphabetic`]). An all-ASCII word is packed straight from the text, and
/// skipped unread when longer than any stopword; a word with other characters is skipped
/// unless they are all [`STOPWORD_FOLDS`], and else lower-cased character by character
/// ([`packed_lower`]), since lower-casing may change its length.
pub(crate) fn stopword_lang(text: &str) -> Option<&'static str> {
    let table = &**STOPWORD_TABLE;
    let b = text.as_bytes();
    let mut counts = [0usize; STOPWORDS.len()];
    let mut words = 0;
    let mut i = 0;
    while i < b.len() && words < 5000 {
        let start = i;
        let mut ascii = true;
        // Whether every non-ASCII character of the word lower-cases into stopword characters.
        let mut folds = true;
        // The word starting at `i`, if any; `i` stops at the first character that is not a
        // letter (its byte length is `skip`, to step over it when it opens no word).
        let mut skip = 1;
        while let Some(&c) = b.get(i) {
            if c.is_ascii_alphabetic() {
                i += 1;
            } else if c < 0x80 {
                break;
            } else {
                let Some(ch) = text.get(i..).and_then(|r| r.chars().next()) else {
                    break;
                };
                if !alphabetic(ch) {
                    skip = ch.len_utf8();
                    break;
                }
                ascii = false;
                folds &= STOPWORD_FOLDS.contains(&ch);
                i += ch.len_utf8();
            }
        }
        let len = i - start;
        if len == 0 {
            i += skip;
            continue;
        }
        words += 1;
        let key = if ascii {
            if len > STOPWORD_MAX {
                continue;
            }
            packed_ascii_word(b, start, len)
        } else if !folds {
            continue;
        } else {
            match text.get(start..i).and_then(packed_lower) {
                Some((n, key)) if n <= 16 => key,
                _ => continue,
            }
        };
        let bits = stopword_bits(table, key);
        if bits != 0 {
            for (lang, n) in counts.iter_mut().enumerate() {
                *n += usize::from(bits >> lang & 1);
            }
        }
    }
    let mut best: Option<(&'static str, usize)> = None;
    for ((lang, _), &n) in STOPWORDS.iter().zip(&counts) {
        if n >= 3 && best.is_none_or(|(_, b)| n > b) {
            best = Some((lang, n));
        }
    }
    best.map(|(l, _)| l)
}

#[cfg(test)]
mod tests {
    //! The one-pass scan against the whole-text regexes it replaces: same matches on every
    //! fixture and on splices of fixtures (labels in new neighbourhoods, cut mid-word).
    use super::*;

    /// [`join_phrase_at`] against what it replaced (a search of a lower-cased copy for every
    /// form), on each fixture's lines, on values holding each phrase in both cases and in
    /// upper case, and on lines cut at every char boundary.
    #[test]
    fn join_phrase_at_matches_a_search_per_form() {
        fn reference(v: &str) -> Option<usize> {
            let mut forms = Vec::new();
            for (p, _) in JOIN_PHRASES {
                forms.push((*p).to_owned());
                let mut c = p.chars();
                if let Some(first) = c.next() {
                    let cap: String = first.to_uppercase().chain(c).collect();
                    if cap.to_ascii_lowercase() != *p {
                        forms.push(cap);
                    }
                }
            }
            let low = v.to_ascii_lowercase();
            forms.iter().filter_map(|f| low.find(f.as_str())).min()
        }
        let mut values: Vec<String> = Vec::new();
        for (p, _) in JOIN_PHRASES {
            let mut c = p.chars();
            let cap: String = c
                .next()
                .into_iter()
                .flat_map(char::to_uppercase)
                .chain(c)
                .collect();
            for form in [p.to_string(), cap.clone(), p.to_uppercase()] {
                values.push(format!("Weekly sync {form} https://zoom.us/j/1"));
                values.push(form.clone());
                values.push(format!("Zoom call: zoom {form}{form}"));
            }
        }
        values.push("Ana's Zoom Meeting zoomzoom Zoo".into());
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invitations");
        for e in std::fs::read_dir(dir).expect("fixtures") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x != "json") {
                let t = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
                values.extend(t.lines().map(str::to_owned));
            }
        }
        let mut cut = Vec::new();
        for v in values.iter().filter(|v| {
            let low = v.to_ascii_lowercase();
            low.contains("zoom") || low.contains("join")
        }) {
            cut.extend(v.char_indices().map(|(i, _)| v[i..].to_owned()));
        }
        values.extend(cut);
        for v in &values {
            assert_eq!(join_phrase_at(v), reference(v), "{v:?}");
        }
    }

    /// The reference: each list's whole-text regex, as the scanners were before the shared pass.
    fn reference_phrases(low: &str) -> (PhraseFlags, Vec<&'static str>) {
        let mut keys: Vec<&String> = PHRASES.keys().collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.chars().count()));
        let alts: Vec<String> = keys.iter().map(|k| regex::escape(k)).collect();
        let re = Regex::new(&format!("(?:{})", alts.join("|"))).expect("phrase regex");
        let mut flags = PhraseFlags::default();
        let mut langs = Vec::new();
        for m in re.find_iter(low) {
            let (f, l) = PHRASES[m.as_str()];
            flags.webinar |= f.webinar;
            flags.personal |= f.personal;
            flags.recurring |= f.recurring;
            flags.google |= f.google;
            if let Some(l) = l {
                if !langs.contains(&l) {
                    langs.push(l);
                }
            }
        }
        (flags, langs)
    }

    fn reference_all(scan: &LabelScan, low: &str) -> Vec<(Range<usize>, Range<usize>)> {
        let re = Regex::new(&scan.pattern).expect("label regex");
        re.captures_iter(low)
            .filter_map(|c| Some((c.get(1)?.range(), c.get(2)?.range())))
            .collect()
    }

    fn reference_first(scan: &LineScan, low: &str) -> Option<Vec<Option<Range<usize>>>> {
        scan.line
            .captures(low)
            .map(|c| c.iter().map(|g| g.map(|g| g.range())).collect())
    }

    /// The reference of [`scan_text`]: the overlapping Aho-Corasick pass over the same words it
    /// replaced (every occurrence of every word, then sorted; phrases picked leftmost-longest).
    pub(super) fn reference_scan(text: &str, low: &str) -> TextScan {
        static SEARCHER: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
            aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::Standard)
                .build(&WORDS.patterns)
                .expect("word automaton")
        });
        let words = &*WORDS;
        let mut out = TextScan::default();
        let mut phrases: Vec<(usize, usize, PhraseEntry)> = Vec::new();
        let mut starts: Vec<(usize, usize)> = Vec::new();
        for m in SEARCHER.find_overlapping_iter(low) {
            starts.push((m.start(), m.pattern().as_usize()));
            if let Some(entry) = words.phrase[m.pattern().as_usize()] {
                phrases.push((m.start(), m.end(), entry));
            }
        }
        starts.sort_unstable();
        for (start, id) in starts {
            out.record(words.kinds[id], start, text, low);
        }
        phrases.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut taken_to = 0;
        let mut last_start = None;
        for (start, end, entry) in phrases {
            if start < taken_to || last_start == Some(start) {
                continue;
            }
            last_start = Some(start);
            taken_to = end;
            out.take_phrase(start, entry);
        }
        out
    }

    fn check(text: &str) {
        let low = text.to_ascii_lowercase();
        let scan = scan_text(text, &low);
        assert_eq!(
            scan,
            reference_scan(text, &low),
            "scan: {}",
            text.chars().take(80).collect::<String>()
        );
        let ctx = || text.chars().take(80).collect::<String>();
        assert_eq!(
            PASSCODE_RE.all(&low, &scan.passcode),
            reference_all(&PASSCODE_RE, &low),
            "passcode: {}",
            ctx()
        );
        assert_eq!(
            MEETING_ID_RE.all(&low, &scan.meeting_id),
            reference_all(&MEETING_ID_RE, &low),
            "meeting id: {}",
            ctx()
        );
        for (name, line, hits) in [
            ("topic", &*TOPIC_RE, &scan.topic),
            ("time", &*TIME_RE, &scan.time),
            ("title", &*TITLE_RE, &scan.title),
            ("organizer", &*ORGANIZER_RE, &scan.organizer),
            ("timezone", &*TIMEZONE_RE, &scan.timezone),
        ] {
            assert_eq!(
                line.first(&low, hits),
                reference_first(line, &low),
                "{name}: {}",
                ctx()
            );
        }
        let (flags, langs) = reference_phrases(&low);
        assert_eq!(scan.flags, flags, "phrase flags: {}", ctx());
        assert_eq!(scan.join_langs, langs, "join languages: {}", ctx());
        assert_eq!(
            scan.phone_header,
            PHONE_HEADER_RE.is_match(&low),
            "phone header: {}",
            ctx()
        );
        assert_eq!(
            scan.old_format,
            text.contains("Join from PC, Mac") || text.contains("join from PC, Mac"),
            "old format: {}",
            ctx()
        );
    }

    fn fixture_texts() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invitations");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .expect("fixtures/invitations exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e != "json" && e != "failed"))
            .collect();
        paths.sort();
        paths
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }

    /// [`match_runs`] as it was, on the label's text: where `label` (a space standing for `[
    /// \t\-]?`) ends when read at `at` in `s`, trying a space as one character before trying it as
    /// none, like the regex. Each run of the label between spaces is compared as bytes (the same as
    /// comparing its characters).
    fn match_label(label: &str, s: &str, at: usize) -> Option<usize> {
        // Most tries fail at the first byte.
        if label.is_empty() {
            return Some(at);
        }
        if s.as_bytes().get(at) != label.as_bytes().first() {
            return None;
        }
        let (run, rest) = match label.split_once(' ') {
            Some((run, rest)) => (run, Some(rest)),
            None => (label, None),
        };
        if !s.as_bytes().get(at..)?.starts_with(run.as_bytes()) {
            return None;
        }
        let pos = at + run.len();
        let Some(rest) = rest else {
            return Some(pos);
        };
        if matches!(s.as_bytes().get(pos), Some(b' ' | b'\t' | b'-')) {
            if let Some(end) = match_label(rest, s, pos + 1) {
                return Some(end);
            }
        }
        match_label(rest, s, pos)
    }

    /// Every label variant read by [`Variants::ends`] against [`match_label`] at every position
    /// of every fixture (lower-cased) and of texts made of the variants themselves: glued,
    /// separated by each separator, cut mid-character, upper case, CRLF.
    #[test]
    fn variants_read_like_match_label() {
        let lists = [PASSCODE, MEETING_ID, TOPIC, TIME, TIMEZONE, GOOGLE_TITLE];
        let mut texts: Vec<String> = super::super::fixture_texts()
            .iter()
            .map(|t| t.to_ascii_lowercase())
            .collect();
        for list in lists {
            for v in variants(list) {
                for sep in [" ", "\t", "-", "", "  ", "\r\n", "_"] {
                    texts.push(v.replace(' ', sep));
                    texts.push(format!("x{}: 1 {}", v.replace(' ', sep), v.to_uppercase()));
                }
                let cut = v.char_indices().last().map_or(0, |(i, _)| i);
                texts.push(v[..cut].to_owned());
                texts.push(format!("{}{v}", &v[..cut]));
            }
        }
        texts.push(String::new());
        for list in lists {
            let all = variants(list);
            let vs = Variants::new(list);
            for t in &texts {
                for at in 0..=t.len() {
                    let old: Vec<usize> = all
                        .iter()
                        .filter_map(|l| Some(match_label(l, t, at)? - at))
                        .collect();
                    let new: Vec<usize> = vs.ends(&t.as_bytes()[at..]).collect();
                    assert_eq!(new, old, "{t:?} at {at}");
                }
            }
        }
    }

    /// The hand reader of [`LabelScan`] where a greedy separator or value gives back, stops
    /// early, or meets what only the regex decides (non-ASCII digits, spaces, dashes).
    #[test]
    fn hand_read_labels_match_the_regex_at_the_edges() {
        let values = [
            ": 123456",
            ":123 456 7890",
            "：812 3456 7890",
            " * : *_ 0a1B2",
            ": **\n",
            ": *_ \n",
            ": _",
            ":\n\n**x!@-_",
            "  812 3456 7890 1234 5678",
            ": 812-3456-7890.",
            "812‐3456‐7890",
            ": １２３４５６７８９",
            "\u{3000}:\u{3000}123456789",
            ": 12345",
            ": 1234567",
            ":1 2 3 4 5 6 7 8 9 0 1 2",
            ": 81234567890123456789012345",
            "::123456789",
            ": ： 123456789",
            "\u{a0}: x",
            ": -",
            "-id: 123456789",
            " id: 987654321",
            "",
        ];
        let labels = [
            "Passcode",
            "Meeting ID",
            "Meeting-ID",
            "meeting\tpasscode",
            "ID",
            "密码",
            "회의 ID",
        ];
        for l in labels {
            for v in values {
                for glue in ["", "x", "\n", " passcode: 1"] {
                    let text = format!("{l}{v}{glue}");
                    check(&text);
                    check(&format!("a {text} {text}"));
                }
            }
        }
    }

    /// Every organizer sentence holds its marker in each head or in its tail, so a line
    /// without the marker is rightly not read.
    #[test]
    fn organizer_markers_are_in_every_sentence() {
        assert_eq!(ORGANIZER.len(), ORGANIZER_MARKERS.len());
        let sentences = ORGANIZER_RE.sentences.as_ref().expect("sentences");
        for s in sentences {
            let in_tail = s.tail.as_deref().is_some_and(|t| t.contains(s.marker));
            assert!(
                in_tail || s.heads.iter().all(|h| h.contains(s.marker)),
                "{:?}",
                s.marker
            );
        }
    }

    /// The hand reader of the organizer sentences against their regex: optional parts,
    /// alternations, `.*` with several tails, empty names, two sentences on one line.
    #[test]
    fn hand_read_organizer_sentences_match_the_regex() {
        let lines = [
            "Ana Ruiz is inviting you to a scheduled Zoom meeting.",
            " is inviting you to a zoom meeting",
            "x is inviting you to a webinar, y is inviting you to a zoom call",
            "Ana lädt Sie zu einem geplanten Zoom-Meeting ein. Bob lädt Sie zu einem Zoom ein",
            "Marta le está invitando a una reunión de Zoom programada.",
            "Los está invitando a una reunión",
            "Marta los está invitando a una reunión y te está invitando a una reunión",
            "REFIVIDRIO le invita a la reunión de Zoom programada.",
            "Ana te invita a una reunión; Bob los invita a la reunión",
            "Paul vous invite à une réunion Zoom planifiée.",
            "Anna ti sta invitando a una riunione Zoom pianificata.",
            "João está convidando você para uma reunião Zoom agendada.",
            "Ana nodigt u uit voor een geplande Zoom-vergadering.",
            "田中さんがあなたを予定されたZoomミーティングに招待しています。",
            "田中があなたを招待しています 招待しています",
            "さんがあなたを招待しています",
            "田中さんがあなたを",
            "김민수님이 예약된 Zoom 회의에 초대합니다.",
            "님이 초대합니다 님이 초대합니다",
            "张三 邀请您参加预定的 Zoom 会议",
            "张三邀请您参加",
            " 邀请您参加",
            "王小明 邀請您參加已排程的 Zoom 會議",
            "Иван Петров приглашает вас на запланированную конференцию: Zoom.",
            "Ana is inviting you to a Zoom meeting. 田中さんがあなたを招待しています",
            "ABC이(가) 예약된 Zoom 회의에 귀하를 초대합니다.",
            "이(가) 초대합니다 ABC이(가)초대합니다 ABC이(가) x 초대합니다",
            "Олена Коваль запрошує на заплановану конференцію Zoom студентів",
            "Олена запрошує вас на конференцію Zoom, Ігор запрошує на конференцію zoom",
            "Ayşe Yılmaz sizi planlanmış Zoom toplantısına davet ediyor.",
            "X sizi zoom toplantısına davet ediyor",
            "GMAHK Sepanjang mengundang Anda untuk bergabung ke rapat Zoom yang terjadwal.",
            "Ani mengundang Anda ke rapat Zoom terjadwal. untuk bergabung ke rapat zoom",
        ];
        for l in lines {
            check(l);
            check(&format!("Topic: x\n{l}\n{l}"));
        }
    }

    /// The hashed-window scan against the overlapping automaton at its edges: every word
    /// alone, cut short, at the text's end, glued to itself, next to non-ASCII characters, in
    /// capitals, with CRLF, and the empty text.
    #[test]
    fn window_scan_matches_the_automaton_on_every_word() {
        let mut texts = vec![
            String::new(),
            "i".to_owned(),
            "id".to_owned(),
            "\r\n".to_owned(),
        ];
        for p in &WORDS.patterns {
            assert!(!p.contains('\0'), "a word holds a NUL byte: {p:?}");
            let cuts = p.char_indices().map(|(i, _)| i).chain([p.len()]);
            for cut in cuts {
                texts.push(p[..cut].to_owned());
                texts.push(format!("x{}", &p[..cut]));
            }
            texts.push(format!("é{p}é"));
            texts.push(format!("{p}{p}"));
            texts.push(format!("{p}\r\n{p}:\r\n"));
            texts.push(format!("１{p}：１"));
            texts.push(p.to_uppercase());
            texts.push(format!("  * {p}"));
        }
        for t in &texts {
            let low = t.to_ascii_lowercase();
            assert_eq!(scan_text(t, &low), reference_scan(t, &low), "{t:?}");
        }
        let all = texts.concat();
        let low = all.to_ascii_lowercase();
        assert_eq!(scan_text(&all, &low), reference_scan(&all, &low));
    }

    /// [`stopword_lang`] as it was: each word lower-cased and looked up in every list.
    fn reference_stopword_lang(text: &str) -> Option<&'static str> {
        let mut counts = [0usize; STOPWORDS.len()];
        for w in text
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .take(5000)
        {
            let w = w.to_lowercase();
            for (n, (_, list)) in counts.iter_mut().zip(STOPWORDS) {
                *n += usize::from(list.contains(&w.as_str()));
            }
        }
        let mut best: Option<(&'static str, usize)> = None;
        for ((lang, _), &n) in STOPWORDS.iter().zip(&counts) {
            if n >= 3 && best.is_none_or(|(_, b)| n > b) {
                best = Some((lang, n));
            }
        }
        best.map(|(l, _)| l)
    }

    /// [`lang_of`] as it was: both sides normalized into new strings.
    fn old_lang_of(table: &[(&str, &'static str)], matched: &str) -> Option<&'static str> {
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

    #[test]
    fn lang_of_matches_the_collected_compare() {
        let tables = [PASSCODE, MEETING_ID, TOPIC, TIME, TIMEZONE, GOOGLE_TITLE];
        let mut texts: Vec<String> = vec![String::new(), "x".to_owned(), "ΣΑΣ".to_owned()];
        for table in tables {
            for (label, _) in table {
                for v in variants(&[(label, "")]) {
                    texts.push(v.clone());
                    texts.push(v.to_uppercase());
                    texts.push(v.replace(' ', ""));
                    texts.push(v.replace(' ', "\t-"));
                    texts.push(v.replace(' ', "\u{3000}"));
                    texts.push(format!("{v}x"));
                    let cut = v.char_indices().last().map_or(0, |(i, _)| i);
                    texts.push(v[..cut].to_owned());
                }
            }
        }
        for table in tables {
            for t in &texts {
                assert_eq!(lang_of(table, t), old_lang_of(table, t), "{t:?}");
            }
        }
    }

    /// [`is_phone_header`] as it was. True when a trimmed, ASCII-lower-cased line opens with a
    /// phone-part header; the same as [`PHONE_HEADER_RE`] on that line, with a cheap look at its
    /// first letter first.
    fn old_is_phone_header(low_line: &str) -> bool {
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

    #[test]
    fn is_phone_header_matches_the_regex() {
        let mut lines: Vec<String> = Vec::new();
        for t in super::super::fixture_texts() {
            let low = t.to_ascii_lowercase();
            lines.extend(low.lines().map(str::to_owned));
            lines.extend(low.lines().map(|l| l.trim().to_owned()));
        }
        for h in PHONE_HEADERS {
            for lead in ["", " ", "\t• ", "-*·", "x ", "\n", "a\n * "] {
                lines.push(format!("{lead}{h}"));
                lines.push(format!("{lead}{h} tail\r\nnext"));
                lines.push(format!("{lead}{}", h.to_uppercase()));
                let cut = h.char_indices().last().map_or(0, |(i, _)| i);
                lines.push(format!("{lead}{}", &h[..cut]));
            }
        }
        lines.push(String::new());
        for l in &lines {
            assert_eq!(is_phone_header(l), old_is_phone_header(l), "{l:?}");
            if !l.contains('\n') {
                assert_eq!(is_phone_header(l), PHONE_HEADER_RE.is_match(l), "{l:?}");
            }
        }
    }

    /// [`find_from`] and [`rfind_from`] against `str::find` and `str::rfind` on every
    /// organizer head and tail, in the organizer test lines and in splices of them.
    #[test]
    fn find_from_matches_str_find() {
        let sentences = ORGANIZER_RE.sentences.as_ref().expect("sentences");
        let mut needles: Vec<&str> = vec!["", "a", "é"];
        for s in sentences {
            needles.extend(s.heads.iter().map(String::as_str));
            needles.extend(s.tail.as_deref());
        }
        let mut lines: Vec<String> = vec![String::new(), "aaa".to_owned(), "ééé".to_owned()];
        for n in &needles {
            lines.push(format!("{n}{n}"));
            lines.push(format!("x {n} y {n}"));
            let cut = n.char_indices().last().map_or(0, |(i, _)| i);
            lines.push(format!("{}{n}{}", &n[..cut], &n[..cut]));
        }
        for t in super::super::fixture_texts() {
            lines.extend(t.to_ascii_lowercase().lines().map(str::to_owned));
        }
        for line in &lines {
            let starts = line.char_indices().map(|(i, _)| i).chain([line.len()]);
            for from in starts {
                for n in &needles {
                    let b = line.as_bytes();
                    let nb = n.as_bytes();
                    assert_eq!(
                        find_from(b, nb, from),
                        line[from..].find(n).map(|p| p + from),
                        "{line:?} {n:?} {from}"
                    );
                    assert_eq!(
                        rfind_from(b, nb, from),
                        line[from..].rfind(n).map(|p| p + from),
                        "{line:?} {n:?} {from}"
                    );
                }
            }
        }
    }

    /// Every word of [`STOPWORDS`] by byte length: (the word [`packed`], the bit of each language
    /// (its index) using it). A text's word is then compared as one integer with the few words of
    /// its length, where each list's `contains` compared it with every word.
    static OLD_STOPWORD_LANGS: LazyLock<Vec<Vec<(u128, u8)>>> = LazyLock::new(|| {
        let mut by_len: Vec<Vec<(u128, u8)>> = vec![Vec::new(); 17];
        for (i, (_, list)) in STOPWORDS.iter().enumerate() {
            for w in *list {
                let key = packed(w.as_bytes()).expect("stopwords are at most 16 bytes");
                let words = &mut by_len[w.len()];
                match words.iter_mut().find(|(x, _)| *x == key) {
                    Some((_, bits)) => *bits |= 1 << i,
                    None => words.push((key, 1 << i)),
                }
            }
        }
        by_len
    });

    /// [`stopword_lang`] as it was: the text split at every non-alphabetic character, each word
    /// packed and compared with the stopwords of its length.
    fn old_stopword_lang(text: &str) -> Option<&'static str> {
        let by_len = &*OLD_STOPWORD_LANGS;
        let mut counts = [0usize; STOPWORDS.len()];
        for w in text
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .take(5000)
        {
            // Most words are ASCII: lower-cased in the packed integer (same length); others
            // character by character, as lower-casing may change their length.
            let found = if w.is_ascii() {
                packed(w.as_bytes()).map(|k| (w.len(), k))
            } else {
                packed_lower(w)
            };
            let Some((key, words)) = found.and_then(|(len, k)| Some((k, by_len.get(len)?))) else {
                continue;
            };
            if let Some((_, bits)) = words.iter().find(|(x, _)| *x == key) {
                for (lang, n) in counts.iter_mut().enumerate() {
                    *n += usize::from(bits >> lang & 1);
                }
            }
        }
        let mut best: Option<(&'static str, usize)> = None;
        for ((lang, _), &n) in STOPWORDS.iter().zip(&counts) {
            if n >= 3 && best.is_none_or(|(_, b)| n > b) {
                best = Some((lang, n));
            }
        }
        best.map(|(l, _)| l)
    }

    /// [`STOPWORD_FOLDS`] holds every non-ASCII character lower-casing into stopword
    /// characters only, and [`alphabetic`] is `is_alphabetic` over the ranges it answers.
    #[test]
    fn stopword_folds_and_alphabetic_hold_over_every_character() {
        let used: Vec<char> = STOPWORDS
            .iter()
            .flat_map(|(_, list)| list.iter().flat_map(|w| w.chars()))
            .collect();
        for c in (0x80..=0x10_ffff).filter_map(char::from_u32) {
            if c.to_lowercase().all(|l| used.contains(&l)) {
                assert!(STOPWORD_FOLDS.contains(&c), "{c:?}");
            }
            assert_eq!(alphabetic(c), c.is_alphabetic(), "{c:?}");
        }
    }

    #[test]
    fn stopword_lang_matches_the_list_lookup() {
        let mut texts = fixture_texts();
        let extra: Vec<String> = texts
            .iter()
            .flat_map(|t| {
                [
                    t.to_uppercase(),
                    t.replace(' ', "\u{3000}"),
                    t.replace("e", "É"),
                ]
            })
            .collect();
        texts.extend(extra);
        for (lang, list) in STOPWORDS {
            let words = list.join(" ");
            texts.push(format!("{words} {}", words.to_uppercase()));
            texts.push(format!("{lang}: {}", list.join("１")));
            texts.push(list.join("\r\n").replace('a', "\u{212a}"));
        }
        texts.push("İt İs the ſ DER DİE DAS x".to_owned());
        texts.push("ΣΑΣ VOCÊ NÃO REUNIÃO ὈΔΥΣΣΕΎΣ la la la".to_owned());
        texts.push("\u{212a}\u{212b}\u{2126} DE DE DE ESTÁ".to_owned());
        texts.push(String::new());
        // Words around the packing limits (8, 11, 16 bytes), at the text's end, after a cut
        // character, glued to digits and full-width characters, and past the 5,000-word cap.
        for n in [1, 7, 8, 9, 11, 12, 15, 16, 17, 30] {
            let w: String = "vergaderingvergaderingvergadering"
                .chars()
                .take(n)
                .collect();
            texts.push(format!("de de {w} de"));
            texts.push(format!("het het het {w}"));
            texts.push(w.to_uppercase());
            texts.push(format!("\u{212a}{w} is is is the"));
            texts.push(format!("１{w}１is２is３is"));
        }
        texts.push("VERGADERING Vergadering vergadering".to_owned());
        texts.push(format!("{} de de de", "the ".repeat(4999)));
        texts.push(format!("{} la la la la", "the ".repeat(4998)));
        texts.push(format!("{} und und und", "x ".repeat(5000)));
        texts.push("é\u{301}de de de\u{300}".to_owned());
        texts.push("VOCÊ você vocÊ NÃO não REUNIÃO reunión REUNIÓN x×y÷z’s —de— de".to_owned());
        texts.push("vocé nâo ǅe ǀde de\u{2071}de ⁿde de".to_owned());
        for t in &texts {
            assert_eq!(
                stopword_lang(t),
                reference_stopword_lang(t),
                "{:?}",
                t.chars().take(80).collect::<String>()
            );
            assert_eq!(
                stopword_lang(t),
                old_stopword_lang(t),
                "{:?}",
                t.chars().take(80).collect::<String>()
            );
        }
        for t in super::super::fixture_texts() {
            assert_eq!(stopword_lang(&t), old_stopword_lang(&t));
            for cut in (0..t.len()).step_by(97) {
                if let Some(head) = t.get(..cut) {
                    assert_eq!(stopword_lang(head), old_stopword_lang(head), "{head:?}");
                }
            }
        }
    }

    /// The bucket walk of [`Scan::hit`] (from [`Words::bucket_from`], found by rank, to the
    /// first entry marked `last`) yields exactly the patterns that can start a window of that
    /// hash, in pattern order, for every hash; no pattern hashes to a bit left clear.
    #[test]
    fn bucket_walk_yields_the_patterns_of_its_hash() {
        let words = &*WORDS;
        let mut of_hash = vec![Vec::new(); 1 << FILTER_BITS];
        for (i, p) in words.patterns.iter().enumerate() {
            for h in pattern_hashes(p.as_bytes()) {
                let id = u16::try_from(i).expect("few patterns");
                if of_hash[h].last() != Some(&id) {
                    of_hash[h].push(id);
                }
            }
        }
        for (h, want) in of_hash.iter().enumerate() {
            if words.filter[h >> 6] & (1 << (h & 63)) == 0 {
                assert!(want.is_empty(), "hash {h}");
                continue;
            }
            let mut walked = Vec::new();
            for e in words.bucket_from(h) {
                walked.push(e.id);
                if e.last {
                    break;
                }
            }
            assert_eq!(&walked, want, "hash {h}");
        }
    }

    #[test]
    fn one_pass_scan_matches_whole_text_regexes_on_fixtures() {
        let texts = fixture_texts();
        assert!(texts.len() > 40, "fixtures found: {}", texts.len());
        for t in &texts {
            check(t);
        }
    }

    /// Line labels after the leads and sentence ends [`opens_label`] accepts, and after text it
    /// does not, on one line with others, against the whole-text regexes.
    #[test]
    fn line_labels_after_leads_and_sentence_ends_match_the_regexes() {
        let lines = [
            "X is inviting you to a scheduled Zoom meeting. Topic: A\nTime: Jan 5",
            "meeting Topic: not a label\nmeeting. Meeting Topic: yes",
            "📅 Hora: 24 ago 2025\n🔹 Mật mã: 88",
            "a. b. Time:x\n1.Time: y\nDone! Time: z\n会议。时间：2026年",
            "| Topic | no\n| Topic: yes |\n— Time: q\n(Time): r",
            "Meeting ID. Topic. Topic: twice\nv1.2 Time:\t t",
            "Topic: A Time: B\nTema: C Hora: D",
            "Passcode\t417531\nPasscode: \t417531\nDate & Time\tApr 23, 2024 09:00 AM\nTopic \t*x*",
            "Passcode\t*\nPasscode *\t_ y\nPass: vJJ9Zu\nPasscode\t\nx\nMeeting ID\t845 1553 6711",
            "Time\t: a\nTopic\n\tb\nPasscode \n\tc\nPasscode\t*\t* d\nPasscode*\t\t",
            "Date Time: Feb 24, 2022 01:00 PM Eastern Time\nКонференція. Час: 23 вересня\nКод доступу: 111",
            "Konu: Oda\nWaktu: Rabu; Jam: 19:00 WIB\nІдентифікатор конференції: 361 234 5078",
            ":alarm_clock: Time: 16 Jul\n:spiral_calendar:: :+1: Topic: x\n:x Time: no\nab: Topic: no",
            "::: Topic: y\n:a:b: Time: z\n:a::b: Passcode: p\n:a b: Topic: no\n:é: Time: no",
        ];
        for l in lines {
            check(l);
            check(&l.to_uppercase());
            check(&l.replace('\n', "\r\n"));
        }
    }

    #[test]
    fn one_pass_scan_matches_whole_text_regexes_on_splices() {
        let texts = fixture_texts();
        // A fixed linear congruential sequence: the same splices on every run.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n.max(1)
        };
        let cut = |t: &str, at: usize| {
            let mut i = at.min(t.len());
            while !t.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        for _ in 0..400 {
            let mut s = String::new();
            for _ in 0..3 {
                let t = &texts[next(texts.len())];
                let a = cut(t, next(t.len() + 1));
                let b = cut(t, a + next(400));
                s.push_str(&t[a..b.max(a)]);
                // Glue that can join label pieces: nothing, a colon, a break, a letter.
                s.push_str(["", ":", "\n", "x", " "][next(5)]);
            }
            check(&s);
            check(&s.to_uppercase());
        }
    }
}
