//! Full-text search of articles: an in-process tantivy index (BM25, top-k, snippets) per
//! node under the data directory. It is derived from Postgres: built from the articles when
//! missing, stale or made by another version, then kept current from the change feed
//! (`follow`). Postgres stays the truth: every hit is read back from it with the reader's
//! visibility, so an index a moment behind never shows a draft.
mod documents;
mod follow;
pub mod query;
mod snippet;

use std::ops::Bound;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{
    DocAddress, DocId, Index, IndexReader, IndexWriter, Score, SegmentReader, TantivyDocument, Term,
};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

pub use follow::{follow, rebuild_offline};

use crate::changes::Position;
use crate::error::ApiError;
use crate::listing::{Filters, Reader, Status};

/// Bumped when the schema or the analysis changes: an index of another version is rebuilt.
const SCHEMA_VERSION: u32 = 3;
const ANALYZER: &str = "lede";
/// How long a write's answer waits for its own node's index (then it answers anyway).
const WAIT_FOR_INDEX: Duration = Duration::from_secs(2);

/// The order of hits, and where a page starts in it.
#[derive(Debug, Clone, Copy)]
pub enum Order {
    /// Best match first; a page after `(score, id)`.
    Relevance { after: Option<(f32, Uuid)> },
    /// By a time (`sort_at`, `updated_at`, `created_at`); a page after `(micros, id)`.
    Time {
        field: &'static str,
        descending: bool,
        after: Option<(i64, Uuid)>,
    },
}

/// One search: the article list's reader and filters (the words are `filters.q`), the order,
/// and the slice of hits wanted.
#[derive(Debug)]
pub struct SearchRequest {
    pub reader: Reader,
    pub filters: Filters,
    pub order: Order,
    pub offset: usize,
    pub limit: usize,
}

/// An article found, best first.
#[derive(Debug)]
pub struct Hit {
    pub id: Uuid,
    pub score: f32,
    /// Text around the matches, marked with `articles::queries::MARK_START`/`MARK_END`
    /// (not yet HTML-escaped).
    pub snippet: String,
}

#[derive(Debug)]
pub struct Found {
    pub hits: Vec<Hit>,
    /// Every hit, exactly.
    pub total: i64,
}

/// What an index records about itself at each commit.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Payload {
    schema: u32,
    language: String,
    database: String,
    txid: i64,
    id: i64,
    at: DateTime<Utc>,
}

/// The fields of the index.
#[derive(Clone)]
struct Fields {
    id: Field,
    title: Field,
    subtitle: Field,
    text: Field,
    tags: Field,
    author: Field,
    status: Field,
    kind: Field,
    author_key: Field,
    tag_key: Field,
    public_from: Field,
    published: Field,
    sort_at: Field,
    updated_at: Field,
    created_at: Field,
    id_hi: Field,
    id_lo: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(ANALYZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text = TextOptions::default().set_indexing_options(indexing);
    let fields = Fields {
        id: builder.add_text_field("id", STRING),
        title: builder.add_text_field("title", text.clone()),
        subtitle: builder.add_text_field("subtitle", text.clone()),
        // Stored: snippets are cut from it.
        text: builder.add_text_field("text", text.clone() | STORED),
        tags: builder.add_text_field("tags", text.clone()),
        author: builder.add_text_field("author", text),
        status: builder.add_text_field("status", STRING),
        kind: builder.add_text_field("kind", STRING),
        author_key: builder.add_text_field("author_key", STRING),
        tag_key: builder.add_text_field("tag_key", STRING),
        public_from: builder.add_i64_field("public_from", INDEXED | FAST),
        published: builder.add_i64_field("published", INDEXED | FAST),
        sort_at: builder.add_i64_field("sort_at", FAST),
        updated_at: builder.add_i64_field("updated_at", FAST),
        created_at: builder.add_i64_field("created_at", FAST),
        id_hi: builder.add_u64_field("id_hi", FAST),
        id_lo: builder.add_u64_field("id_lo", FAST),
    };
    (builder.build(), fields)
}

/// Words as the index holds them: split, lowercased, accents folded, stop words dropped and
/// stemmed in the configured language (`simple` or one tantivy lacks: not stemmed).
fn analyzer(language: &str) -> TextAnalyzer {
    let language = match language {
        "arabic" => Some(Language::Arabic),
        "danish" => Some(Language::Danish),
        "dutch" => Some(Language::Dutch),
        "english" => Some(Language::English),
        "finnish" => Some(Language::Finnish),
        "french" => Some(Language::French),
        "german" => Some(Language::German),
        "greek" => Some(Language::Greek),
        "hungarian" => Some(Language::Hungarian),
        "italian" => Some(Language::Italian),
        "norwegian" => Some(Language::Norwegian),
        "portuguese" => Some(Language::Portuguese),
        "romanian" => Some(Language::Romanian),
        "russian" => Some(Language::Russian),
        "spanish" => Some(Language::Spanish),
        "swedish" => Some(Language::Swedish),
        "tamil" => Some(Language::Tamil),
        "turkish" => Some(Language::Turkish),
        _ => None,
    };
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter);
    match language {
        Some(language) => match StopWordFilter::new(language) {
            Some(stop) => base.filter(stop).filter(Stemmer::new(language)).build(),
            None => base.filter(Stemmer::new(language)).build(),
        },
        None => base.build(),
    }
}

/// Where an index of this schema lives under `dir`: a new version builds beside the old,
/// never over it (a node of the old version may still run on it).
pub fn version_dir(dir: &std::path::Path) -> PathBuf {
    dir.join(format!("v{SCHEMA_VERSION}"))
}

fn micros(time: &DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// An open index: what searches read and the one writer the follower uses.
struct Engine {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    fields: Fields,
    analyzer: TextAnalyzer,
    text_fields: query::TextFields,
}

impl Engine {
    fn new(index: Index, language: &str, heap_bytes: usize) -> tantivy::Result<Self> {
        let analyzer = analyzer(language);
        index.tokenizers().register(ANALYZER, analyzer.clone());
        let (_, fields) = schema();
        let writer = index.writer_with_num_threads(1, heap_bytes)?;
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()?;
        let text_fields = query::TextFields {
            weighted: vec![
                (fields.title, 3.0),
                (fields.subtitle, 1.5),
                (fields.text, 1.0),
                (fields.tags, 1.5),
                (fields.author, 1.0),
            ],
        };
        Ok(Engine {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            analyzer,
            text_fields,
        })
    }

    fn payload(&self) -> Option<Payload> {
        let metas = self.index.load_metas().ok()?;
        serde_json::from_str(metas.payload.as_deref()?).ok()
    }

    fn document(&self, article: &documents::IndexedArticle) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        let id = article.id.to_string();
        doc.add_text(f.id, &id);
        doc.add_text(f.title, &article.title);
        doc.add_text(f.subtitle, &article.subtitle);
        doc.add_text(f.text, &article.text);
        for name in &article.tag_names {
            doc.add_text(f.tags, name);
        }
        doc.add_text(f.author, &article.author_name);
        doc.add_text(f.status, &article.status);
        doc.add_text(f.kind, &article.kind);
        doc.add_text(f.author_key, article.author_id.to_string());
        doc.add_text(f.author_key, &article.author_slug);
        for (tag, slug) in article.tag_ids.iter().zip(&article.tag_slugs) {
            doc.add_text(f.tag_key, tag.to_string());
            doc.add_text(f.tag_key, slug);
        }
        // Public from its publication instant; never, unless published.
        let public_from = match (&article.published_at, article.status.as_str()) {
            (Some(at), "published") => micros(at),
            _ => i64::MAX,
        };
        doc.add_i64(f.public_from, public_from);
        if let Some(at) = &article.published_at {
            doc.add_i64(f.published, micros(at));
        }
        doc.add_i64(f.sort_at, micros(&article.sort_at));
        doc.add_i64(f.updated_at, micros(&article.updated_at));
        doc.add_i64(f.created_at, micros(&article.created_at));
        let (hi, lo) = article.id.as_u64_pair();
        doc.add_u64(f.id_hi, hi);
        doc.add_u64(f.id_lo, lo);
        doc
    }

    fn writer(&self) -> tantivy::Result<std::sync::MutexGuard<'_, IndexWriter<TantivyDocument>>> {
        self.writer
            .lock()
            .map_err(|_| tantivy::TantivyError::InternalError("index writer poisoned".into()))
    }

    /// Replaces the documents of `ids` with `articles` (ids without an article are
    /// deleted); with a `payload`, commits and shows the result to searches.
    fn replace(
        &self,
        ids: &[Uuid],
        articles: &[documents::IndexedArticle],
        payload: Option<&Payload>,
    ) -> tantivy::Result<()> {
        let mut writer = self.writer()?;
        for id in ids {
            writer.delete_term(Term::from_field_text(self.fields.id, &id.to_string()));
        }
        for article in articles {
            writer.add_document(self.document(article))?;
        }
        if let Some(payload) = payload {
            let mut commit = writer.prepare_commit()?;
            commit.set_payload(&serde_json::to_string(payload).unwrap_or_default());
            commit.commit()?;
            self.reader.reload()?;
        }
        Ok(())
    }

    /// The articles whose documents name any of `owners` (authors or tags, by id).
    fn with_keys(&self, owners: &[Uuid]) -> tantivy::Result<Vec<Uuid>> {
        let searcher = self.reader.searcher();
        let mut found = Vec::new();
        for owner in owners {
            for field in [self.fields.author_key, self.fields.tag_key] {
                let query = TermQuery::new(
                    Term::from_field_text(field, &owner.to_string()),
                    IndexRecordOption::Basic,
                );
                for address in searcher.search(&query, &tantivy::collector::DocSetCollector)? {
                    found.push(
                        Ids::of(searcher.segment_reader(address.segment_ord)).get(address.doc_id),
                    );
                }
            }
        }
        Ok(found)
    }

    /// Removes every document (committed with the next `replace` that has a payload).
    fn clear(&self) -> tantivy::Result<()> {
        self.writer()?.delete_all_documents()?;
        Ok(())
    }

    fn filters(&self, request: &SearchRequest, now: i64) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.fields;
        let term = |field: Field, text: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::Basic,
            ))
        };
        let range = |field: Field, from: Bound<i64>, to: Bound<i64>| -> Box<dyn Query> {
            let term = |value: i64| Term::from_field_i64(field, value);
            Box::new(RangeQuery::new(from.map(term), to.map(term)))
        };
        let public = || range(f.public_from, Bound::Unbounded, Bound::Included(now));
        let key = |key: &str| match Uuid::parse_str(key) {
            Ok(id) => id.to_string(),
            Err(_) => key.to_owned(),
        };
        let wanted = &request.filters;
        let mut filters: Vec<Box<dyn Query>> = vec![term(f.kind, wanted.kind.as_str())];
        match request.reader {
            Reader::Public => filters.push(public()),
            Reader::Author(author) => filters.push(Box::new(BooleanQuery::new(vec![
                (Occur::Should, public()),
                (Occur::Should, term(f.author_key, &author.to_string())),
            ]))),
            Reader::Staff => {}
        }
        match wanted.status {
            Some(Status::Draft) => filters.push(term(f.status, "draft")),
            Some(Status::InReview) => filters.push(term(f.status, "in_review")),
            Some(Status::Archived) => filters.push(term(f.status, "archived")),
            Some(Status::Published) => filters.push(public()),
            Some(Status::Scheduled) => {
                filters.push(term(f.status, "published"));
                filters.push(range(
                    f.public_from,
                    Bound::Excluded(now),
                    Bound::Excluded(i64::MAX),
                ));
            }
            None => {}
        }
        if let Some(author) = &wanted.author {
            filters.push(term(f.author_key, &key(author)));
        }
        for tag in &wanted.tags {
            filters.push(term(f.tag_key, &key(tag)));
        }
        if let Some(after) = &wanted.published_after {
            filters.push(range(
                f.published,
                Bound::Included(micros(after)),
                Bound::Unbounded,
            ));
        }
        if let Some(before) = &wanted.published_before {
            filters.push(range(
                f.published,
                Bound::Unbounded,
                Bound::Excluded(micros(before)),
            ));
        }
        // Filters decide what matches, not how well.
        filters
            .into_iter()
            .map(|q| {
                (
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(q, 0.0)) as Box<dyn Query>,
                )
            })
            .collect()
    }

    fn search(&self, request: &SearchRequest) -> tantivy::Result<Found> {
        let nothing = Found {
            hits: Vec::new(),
            total: 0,
        };
        let mut analyzer = self.analyzer.clone();
        let clauses = query::parse(request.filters.q.as_deref().unwrap_or_default());
        let Some(words) = query::build(&clauses, &self.text_fields, &mut analyzer) else {
            return Ok(nothing);
        };
        let mut parts = vec![(Occur::Must, words)];
        parts.extend(self.filters(request, micros(&Utc::now())));
        let query = BooleanQuery::new(parts);
        let searcher = self.reader.searcher();
        let top = TopDocs::with_limit(request.limit.max(1)).and_offset(request.offset);
        // Every match is visited (keyed by score or time, and id), so it is counted in the
        // same pass: the total is exact.
        let (mut found, total): (Vec<(Score, DocAddress, Uuid)>, usize) = match request.order {
            Order::Relevance { after } => {
                // Ties in score are broken by id, as the next page's cursor reads them.
                let bound = after.map(|(score, id)| (score, id.as_u128()));
                let collector = top.tweak_score(move |segment: &SegmentReader| {
                    let ids = Ids::of(segment);
                    move |doc: DocId, score: Score| {
                        let key = (score, ids.get(doc).as_u128());
                        bound.is_none_or(|bound| key < bound).then_some(key)
                    }
                });
                let (docs, total) = searcher.search(&query, &(collector, Count))?;
                let docs = docs
                    .into_iter()
                    .filter_map(|(key, address)| {
                        key.map(|(score, id)| (score, address, Uuid::from_u128(id)))
                    })
                    .collect();
                (docs, total)
            }
            Order::Time {
                field,
                descending,
                after,
            } => {
                // Descending order of (time, id), or of their bitwise complements (ascending).
                let order = move |time: i64, id: u128| {
                    if descending { (time, id) } else { (!time, !id) }
                };
                let bound = after.map(|(time, id)| order(time, id.as_u128()));
                let collector = top.custom_score(move |segment: &SegmentReader| {
                    let ids = Ids::of(segment);
                    let times = segment
                        .fast_fields()
                        .i64(field)
                        .map(|c| c.first_or_default_col(0))
                        .ok();
                    move |doc: DocId| {
                        let time = times.as_ref().map_or(0, |t| t.get_val(doc));
                        let id = ids.get(doc).as_u128();
                        let key = order(time, id);
                        bound.is_none_or(|bound| key < bound).then_some(key)
                    }
                });
                let (docs, total) = searcher.search(&query, &(collector, Count))?;
                let docs = docs
                    .into_iter()
                    .filter_map(|(key, address)| {
                        key.map(|(_, id)| {
                            let id = if descending { id } else { !id };
                            (0.0, address, Uuid::from_u128(id))
                        })
                    })
                    .collect();
                (docs, total)
            }
        };
        found.truncate(request.limit);
        // The words searched for, as the index holds them: marked where they occur.
        let mut sought = snippet::Sought::default();
        for clause in clauses.iter().filter(|c| !c.negated) {
            for item in &clause.either {
                let (query::Item::Word(text) | query::Item::Phrase(text)) = item;
                let mut stream = analyzer.token_stream(text);
                let mut terms = Vec::new();
                while let Some(token) = stream.next() {
                    terms.push(token.text.clone());
                }
                match (item, terms.len()) {
                    (query::Item::Phrase(_), 2..) => sought.phrases.push(terms),
                    _ => sought.words.extend(terms),
                }
            }
        }
        let mut matcher = snippet::Matcher::new(&sought, self.analyzer.clone());
        let mut hits = Vec::with_capacity(found.len());
        for (score, address, id) in found {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = doc
                .get_first(self.fields.text)
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            hits.push(Hit {
                id,
                score,
                snippet: matcher.snippet(text),
            });
        }
        Ok(Found {
            hits,
            total: total as i64,
        })
    }
}

impl Engine {
    /// The public articles of `kind` most like `id`: sharing its tags (each shared tag
    /// counts as much as a strong word match) and its words (tantivy's more-like-this over
    /// its stored text), best first, itself left out. Empty when the index lacks it.
    fn related(
        &self,
        id: Uuid,
        tag_ids: &[Uuid],
        kind: crate::listing::Kind,
        limit: usize,
    ) -> tantivy::Result<Vec<Uuid>> {
        let f = &self.fields;
        let searcher = self.reader.searcher();
        let itself = Term::from_field_text(f.id, &id.to_string());
        let found = searcher.search(
            &TermQuery::new(itself.clone(), IndexRecordOption::Basic),
            &TopDocs::with_limit(1),
        )?;
        let Some((_, address)) = found.first() else {
            return Ok(Vec::new());
        };
        // A word's document count includes deleted documents (an article deleted, or saved
        // again, stays in its segment until segments merge), and tantivy asserts it is no
        // more than the live documents: a word counted in more is left out, not a panic.
        let live = searcher.num_docs();
        let words = tantivy::query::MoreLikeThisQuery::builder()
            .with_min_doc_frequency(2)
            .with_max_doc_frequency((live / 5).max(10).min(live))
            .with_min_term_frequency(2)
            .with_max_query_terms(25)
            .with_min_word_length(3)
            .with_boost_factor(1.0)
            .with_document(*address);
        let mut similar: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, Box::new(words))];
        for tag in tag_ids {
            let term = Term::from_field_text(f.tag_key, &tag.to_string());
            let query = TermQuery::new(term, IndexRecordOption::Basic);
            similar.push((
                Occur::Should,
                Box::new(tantivy::query::BoostQuery::new(
                    Box::new(ConstScoreQuery::new(Box::new(query), 1.0)),
                    2.0,
                )),
            ));
        }
        let request = SearchRequest {
            reader: Reader::Public,
            filters: Filters {
                kind,
                ..Filters::default()
            },
            order: Order::Relevance { after: None },
            offset: 0,
            limit,
        };
        let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, Box::new(BooleanQuery::new(similar))),
            (
                Occur::MustNot,
                Box::new(TermQuery::new(itself, IndexRecordOption::Basic)),
            ),
        ];
        parts.extend(self.filters(&request, micros(&Utc::now())));
        let hits = searcher.search(&BooleanQuery::new(parts), &TopDocs::with_limit(limit))?;
        let mut ids = Vec::with_capacity(hits.len());
        for (_, address) in hits {
            let segment = searcher.segment_reader(address.segment_ord);
            ids.push(Ids::of(segment).get(address.doc_id));
        }
        Ok(ids)
    }
}

/// An article's id from the two halves the index keeps of it.
struct Ids {
    hi: Option<Arc<dyn tantivy::columnar::ColumnValues<u64>>>,
    lo: Option<Arc<dyn tantivy::columnar::ColumnValues<u64>>>,
}

impl Ids {
    fn of(segment: &SegmentReader) -> Ids {
        let column = |name: &str| {
            segment
                .fast_fields()
                .u64(name)
                .map(|c| c.first_or_default_col(0))
                .ok()
        };
        Ids {
            hi: column("id_hi"),
            lo: column("id_lo"),
        }
    }

    fn get(&self, doc: DocId) -> Uuid {
        let half = |c: &Option<Arc<dyn tantivy::columnar::ColumnValues<u64>>>| {
            c.as_ref().map_or(0, |c| c.get_val(doc))
        };
        Uuid::from_u64_pair(half(&self.hi), half(&self.lo))
    }
}

/// This node's search index, as every request reaches it.
pub struct Search {
    engine: RwLock<Option<Arc<Engine>>>,
    /// Where the index lives (`None`: in memory only).
    dir: Option<PathBuf>,
    language: String,
    wake: Notify,
    /// Where the index stands in the change feed.
    position: watch::Sender<Position>,
}

impl Search {
    /// The index of this version lives in `<dir>/v<version>`.
    pub fn new(dir: Option<PathBuf>, language: &str) -> Search {
        Search {
            engine: RwLock::new(None),
            dir: dir.map(|dir| version_dir(&dir)),
            language: language.to_owned(),
            wake: Notify::new(),
            position: watch::Sender::new(Position::default()),
        }
    }

    /// A change was announced: read the feed now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn is_ready(&self) -> bool {
        self.engine.read().is_ok_and(|e| e.is_some())
    }

    /// Until the index is open (built first on a new node).
    pub async fn until_ready(&self) {
        let mut position = self.position.subscribe();
        while !self.is_ready() {
            if position.changed().await.is_err() {
                return;
            }
        }
    }

    /// Until the index holds what transaction `txid` wrote (at most a moment).
    pub async fn wait_for(&self, txid: i64) {
        if !self.is_ready() {
            return;
        }
        self.wake();
        let mut position = self.position.subscribe();
        let _ = tokio::time::timeout(
            WAIT_FOR_INDEX,
            position.wait_for(|position| position.txid > txid),
        )
        .await;
    }

    fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.read().ok().and_then(|e| e.clone())
    }

    /// The ids of up to `limit` public articles most like article `id` (see
    /// `Engine::related`), best first, on a blocking thread.
    pub async fn related(
        &self,
        id: Uuid,
        tag_ids: Vec<Uuid>,
        kind: crate::listing::Kind,
        limit: usize,
    ) -> Result<Vec<Uuid>, ApiError> {
        let engine = self.engine().ok_or_else(|| {
            ApiError::Unavailable("the search index is being built; try again shortly".into())
        })?;
        let found =
            actix_web::web::block(move || engine.related(id, &tag_ids, kind, limit)).await?;
        found.map_err(|error| {
            ApiError::Internal(format!("finding related articles failed: {error}"))
        })
    }

    /// Runs `request` on a blocking thread (searching and cutting snippets is CPU work).
    pub async fn find(&self, request: SearchRequest) -> Result<Found, ApiError> {
        let engine = self.engine().ok_or_else(|| {
            ApiError::Unavailable("the search index is being built; try again shortly".into())
        })?;
        let found = actix_web::web::block(move || engine.search(&request)).await?;
        found.map_err(|error| ApiError::Internal(format!("search failed: {error}")))
    }
}
