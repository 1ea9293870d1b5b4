-- How many articles there are per status, kept by triggers as rows come, go and change
-- status: the unfiltered public list's `total` is read from here (minus the few scheduled
-- ones whose time has not come) instead of counting every row on every list.
CREATE TABLE article_totals (
    status   text PRIMARY KEY,
    articles bigint NOT NULL
);
-- No write may land between the count and the triggers.
LOCK TABLE articles IN SHARE ROW EXCLUSIVE MODE;
-- Every status has its row from the start, so a status change only updates.
INSERT INTO article_totals (status, articles)
    SELECT s.status, count(a.id) FROM (VALUES ('draft'), ('published'), ('archived')) s (status)
    LEFT JOIN articles a ON a.status = s.status GROUP BY s.status;

CREATE FUNCTION article_totals_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO article_totals (status, articles)
        SELECT status, count(*) FROM added GROUP BY status
        ON CONFLICT (status) DO UPDATE SET articles = article_totals.articles + excluded.articles;
    RETURN NULL;
END $$;
CREATE FUNCTION article_totals_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE article_totals SET articles = article_totals.articles - gone.articles
        FROM (SELECT status, count(*) AS articles FROM removed GROUP BY status) gone
        WHERE article_totals.status = gone.status;
    RETURN NULL;
END $$;
-- Both rows in one statement, in key order: a publish and an unpublish at once cannot
-- lock them in opposite orders (a deadlock).
CREATE FUNCTION article_totals_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM article_totals WHERE status IN (OLD.status, NEW.status) ORDER BY status FOR UPDATE;
    UPDATE article_totals
        SET articles = articles + CASE WHEN status = NEW.status THEN 1 ELSE -1 END
        WHERE status IN (OLD.status, NEW.status);
    RETURN NULL;
END $$;
-- Once per statement for inserts and deletes (a bulk insert updates the totals once).
CREATE TRIGGER articles_totals_insert AFTER INSERT ON articles
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION article_totals_add();
CREATE TRIGGER articles_totals_delete AFTER DELETE ON articles
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION article_totals_remove();
CREATE TRIGGER articles_totals_status AFTER UPDATE OF status ON articles
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION article_totals_move();
