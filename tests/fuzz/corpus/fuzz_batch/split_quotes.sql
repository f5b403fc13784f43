0CREATE TABLE t (a STRING); -- c;
INSERT INTO t SELECT 'x;y' # z;
; /* ; */ DELETE FROM t WHERE a = "q\";"