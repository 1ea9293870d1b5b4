-- How many articles there are per status, kept by triggers as rows come, go and change
-- status: the unfiltered public list's `total` is read from here (minus the few scheduled
-- ones whose time has not come) instead of counting every row on every list.
CREATE TABLE article_totals (
    status   text PRIMARY KEY,
    articles bigint NOT NULL
);
INSERT INTO article_totals (status, articles) SELECT status, count(*) FROM articles GROUP BY status;

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
CREATE FUNCTION article_totals_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE article_totals SET articles = articles - 1 WHERE status = OLD.status;
    INSERT INTO article_totals (status, articles) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET articles = article_totals.articles + 1;
    RETURN NULL;
END $$;
-- Once per statement for inserts and deletes (a bulk insert updates the totals once).
CREATE TRIGGER articles_totals_insert AFTER INSERT ON articles
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION article_totals_add();
CREATE TRIGGER articles_totals_delete AFTER DELETE ON articles
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION article_totals_remove();
CREATE TRIGGER articles_totals_status AFTER UPDATE OF status ON articles
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION article_totals_move();
