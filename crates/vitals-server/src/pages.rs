//! The survey answer pages: one small, mobile-friendly HTML page that works without
//! JavaScript, worded in the survey's language (en, fi, sl, th, zh, ja — the languages of the
//! product's source articles; others fall back to English).

use crate::surveys::escape;

/// The words of the survey pages in one language.
pub struct Wording {
    /// `lang` attribute.
    pub lang: &'static str,
    /// The question asked.
    pub question: String,
    /// Label of the comment box.
    pub comment: &'static str,
    /// The submit button.
    pub send: &'static str,
    /// After a stored answer.
    pub thanks: &'static str,
    /// A link already answered.
    pub used: &'static str,
    /// An expired link.
    pub expired: &'static str,
    /// A forged, tampered or unknown link.
    pub invalid: &'static str,
    /// No (valid) score chosen.
    pub choose: &'static str,
    /// The server could not store the answer now.
    pub busy: &'static str,
    /// Words under the lowest and the highest score (none for other surveys).
    pub ends: Option<(&'static str, &'static str)>,
}

/// (lang, csat, nps, ces, other, comment, send, thanks, used, expired, invalid, choose, busy,
/// then the scale's ends: csat low, csat high, nps low, nps high, ces low (hard), ces high (easy))
type Words = [&'static str; 19];

const LANGUAGES: &[Words] = &[
    [
        "en",
        "How satisfied were you with the support you received?",
        "How likely are you to recommend us to a friend or colleague?",
        "How easy was it to get your issue resolved?",
        "How would you rate your experience?",
        "Comment (optional)",
        "Send",
        "Thank you — your answer has been recorded.",
        "This survey has already been answered. Thank you!",
        "This survey link has expired.",
        "This survey link is not valid.",
        "Please choose a score.",
        "We could not record your answer right now; please try again in a moment.",
        "Very dissatisfied",
        "Very satisfied",
        "Not at all likely",
        "Extremely likely",
        "Very difficult",
        "Very easy",
    ],
    [
        "fi",
        "Kuinka tyytyväinen olit saamaasi palveluun?",
        "Kuinka todennäköisesti suosittelisit meitä ystävällesi tai kollegallesi?",
        "Kuinka helppoa asiasi hoitaminen oli?",
        "Miten arvioisit kokemuksesi?",
        "Kommentti (vapaaehtoinen)",
        "Lähetä",
        "Kiitos — vastauksesi on tallennettu.",
        "Tähän kyselyyn on jo vastattu. Kiitos!",
        "Tämä kyselylinkki on vanhentunut.",
        "Tämä kyselylinkki ei ole kelvollinen.",
        "Valitse arvosana.",
        "Vastaustasi ei voitu tallentaa juuri nyt; yritä hetken kuluttua uudelleen.",
        "Erittäin tyytymätön",
        "Erittäin tyytyväinen",
        "Erittäin epätodennäköistä",
        "Erittäin todennäköistä",
        "Erittäin vaikeaa",
        "Erittäin helppoa",
    ],
    [
        "sl",
        "Kako zadovoljni ste bili s podporo, ki ste jo prejeli?",
        "Kako verjetno bi nas priporočili prijatelju ali sodelavcu?",
        "Kako enostavno je bilo rešiti vašo težavo?",
        "Kako bi ocenili svojo izkušnjo?",
        "Komentar (neobvezno)",
        "Pošlji",
        "Hvala — vaš odgovor je zabeležen.",
        "Na to anketo je bilo že odgovorjeno. Hvala!",
        "Povezava do ankete je potekla.",
        "Povezava do ankete ni veljavna.",
        "Izberite oceno.",
        "Vašega odgovora trenutno ni bilo mogoče shraniti; poskusite znova čez trenutek.",
        "Zelo nezadovoljen",
        "Zelo zadovoljen",
        "Sploh ni verjetno",
        "Zelo verjetno",
        "Zelo težko",
        "Zelo enostavno",
    ],
    [
        "th",
        "คุณพึงพอใจกับการบริการที่ได้รับมากน้อยเพียงใด",
        "คุณมีแนวโน้มที่จะแนะนำเราให้เพื่อนหรือเพื่อนร่วมงานมากน้อยเพียงใด",
        "การแก้ไขปัญหาของคุณง่ายเพียงใด",
        "คุณให้คะแนนประสบการณ์ของคุณอย่างไร",
        "ความคิดเห็น (ไม่บังคับ)",
        "ส่ง",
        "ขอบคุณ — บันทึกคำตอบของคุณแล้ว",
        "แบบสำรวจนี้ได้รับคำตอบแล้ว ขอบคุณ!",
        "ลิงก์แบบสำรวจนี้หมดอายุแล้ว",
        "ลิงก์แบบสำรวจนี้ไม่ถูกต้อง",
        "กรุณาเลือกคะแนน",
        "ไม่สามารถบันทึกคำตอบได้ในขณะนี้ กรุณาลองใหม่อีกครั้ง",
        "ไม่พอใจมาก",
        "พอใจมาก",
        "ไม่น่าจะแนะนำเลย",
        "แนะนำอย่างแน่นอน",
        "ยากมาก",
        "ง่ายมาก",
    ],
    [
        "zh",
        "您对所获得的服务满意吗？",
        "您有多大可能向朋友或同事推荐我们？",
        "解决您的问题有多容易？",
        "您如何评价这次体验？",
        "意见（选填）",
        "提交",
        "谢谢——您的回答已记录。",
        "此调查已经回答过了。谢谢！",
        "此调查链接已过期。",
        "此调查链接无效。",
        "请选择一个分数。",
        "暂时无法记录您的回答，请稍后再试。",
        "非常不满意",
        "非常满意",
        "完全不可能",
        "极有可能",
        "非常困难",
        "非常容易",
    ],
    [
        "ja",
        "今回のサポートにどの程度満足されましたか？",
        "友人や同僚に当社を薦める可能性はどのくらいありますか？",
        "問題の解決はどのくらい簡単でしたか？",
        "今回のご体験を評価してください。",
        "コメント（任意）",
        "送信",
        "ありがとうございます。回答を記録しました。",
        "このアンケートには既に回答済みです。ありがとうございました。",
        "このアンケートのリンクは有効期限が切れています。",
        "このアンケートのリンクは無効です。",
        "点数を選んでください。",
        "現在回答を記録できません。しばらくしてから再度お試しください。",
        "非常に不満",
        "非常に満足",
        "まったく薦めない",
        "ぜひ薦めたい",
        "非常に難しい",
        "非常に簡単",
    ],
];

impl Wording {
    /// The words for `language` (default English), the survey's standard question unless one
    /// is configured; `high_is_effort` flips the ends of an effort scale.
    pub fn new(
        language: Option<&str>,
        survey: Option<&str>,
        question: Option<&str>,
        high_is_effort: bool,
    ) -> Self {
        let words = LANGUAGES
            .iter()
            .find(|w| Some(w[0]) == language.map(|l| l.split(['-', '_']).next().unwrap_or(l)))
            .unwrap_or(&LANGUAGES[0]);
        let standard = match survey {
            Some("csat") | Some("esat") => words[1],
            Some("nps") => words[2],
            Some("ces") => words[3],
            _ => words[4],
        };
        Wording {
            lang: words[0],
            question: question.unwrap_or(standard).to_string(),
            comment: words[5],
            send: words[6],
            thanks: words[7],
            used: words[8],
            expired: words[9],
            invalid: words[10],
            choose: words[11],
            busy: words[12],
            ends: match survey {
                Some("csat") | Some("esat") => Some((words[13], words[14])),
                Some("nps") => Some((words[15], words[16])),
                Some("ces") if high_is_effort => Some((words[18], words[17])),
                Some("ces") => Some((words[17], words[18])),
                _ => None,
            },
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}\
main{max-width:34rem;margin:2rem auto;background:#fff;padding:1.5rem;border-radius:.75rem;box-shadow:0 1px 3px #0002}\
fieldset{border:0;padding:0;margin:0 0 1rem}legend{font-size:1.2rem;font-weight:600;margin-bottom:1rem}\
.scores{display:flex;flex-wrap:wrap;gap:.4rem}.score input{position:absolute;opacity:0}\
.score span{display:inline-block;min-width:2.6rem;padding:.7rem 0;text-align:center;border:1px solid #b8bfcc;border-radius:.5rem;cursor:pointer}\
.score input:checked+span{background:#2f5bea;color:#fff;border-color:#2f5bea}.score input:focus-visible+span{outline:3px solid #f5a623}\
.ends{display:flex;justify-content:space-between;color:#667;font-size:.85rem}\
textarea{width:100%;box-sizing:border-box;font:inherit;margin:.4rem 0 1rem}\
button{font:inherit;padding:.7rem 1.4rem;border:0;border-radius:.5rem;background:#2f5bea;color:#fff;cursor:pointer}\
p.message{font-size:1.1rem}";

/// A whole page: a message and/or a form.
pub fn page(w: &Wording, message: &str, form: &str) -> String {
    let message = if message.is_empty() {
        String::new()
    } else {
        format!("<p class=\"message\">{}</p>", escape(message))
    };
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title><style>{STYLE}</style></head>\
         <body><main>{message}{form}</main></body></html>",
        lang = w.lang,
        title = escape(&w.question),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_speak_the_configured_language_and_fall_back_to_english() {
        let fi = Wording::new(Some("fi-FI"), Some("nps"), None, false);
        assert_eq!(fi.lang, "fi");
        assert!(fi.question.contains("suosittelisit"));
        assert_eq!(fi.ends.unwrap().1, "Erittäin todennäköistä");
        let effort = Wording::new(None, Some("ces"), None, true);
        assert_eq!(effort.ends, Some(("Very easy", "Very difficult")));
        let custom = Wording::new(Some("ja"), Some("csat"), Some("Q?"), false);
        assert_eq!(custom.question, "Q?");
        let unknown = Wording::new(Some("xx"), None, None, false);
        assert_eq!(unknown.lang, "en");
        assert!(page(&unknown, "<b>", "").contains("&lt;b&gt;"));
    }
}
