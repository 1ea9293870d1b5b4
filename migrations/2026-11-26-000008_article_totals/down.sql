DROP TRIGGER articles_totals_status ON articles;
DROP TRIGGER articles_totals_delete ON articles;
DROP TRIGGER articles_totals_insert ON articles;
DROP FUNCTION article_totals_move();
DROP FUNCTION article_totals_remove();
DROP FUNCTION article_totals_add();
DROP TABLE article_totals;
