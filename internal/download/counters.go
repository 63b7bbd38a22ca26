package download

import "bytes"

// rowCounter counts JSON Lines rows: non-empty lines (a lone "\r" is empty),
// the last one with or without its newline.
type rowCounter struct {
	rows   int64
	inLine bool
}

func (c *rowCounter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		if !c.inLine && len(bytes.Trim(seg, "\r")) > 0 {
			c.inLine = true
		}
		if i < 0 {
			break
		}
		if c.inLine {
			c.rows++
		}
		c.inLine = false
		p = p[i+1:]
	}
	return n, nil
}

func (c *rowCounter) total() int64 {
	if c.inLine {
		return c.rows + 1
	}
	return c.rows
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
