package cmbsim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"

	"laned/cmb"
)

// Picture is one picture the platform received by PicUpload: the last
// one per record and in_out_flag is kept, for the last maxPictureRecords
// records.
type Picture struct {
	RecordID  string `json:"record_id"`
	InOutFlag int    `json:"in_out_flag"` // 1 entry, 2 exit
	Time      int64  `json:"time"`        // UNIX seconds, when received
	Bytes     int    `json:"bytes"`       // of the decoded image
	SHA256    string `json:"sha256"`      // of the decoded image
	Data      []byte `json:"data"`        // the decoded image (base64 in JSON)
	URL       string `json:"url,omitempty"`
}

const maxPictureRecords = 256

// keepPictureLocked records m's picture: pic_con is base64 image text
// (decoded and kept) or an image URL (kept as is).
func (s *Sim) keepPictureLocked(m cmb.PicUpload) {
	p := Picture{RecordID: m.RecordID, InOutFlag: int(m.InOutFlag), Time: s.now().Unix()}
	if b, err := base64.StdEncoding.DecodeString(m.PicCon); err == nil {
		sum := sha256.Sum256(b)
		p.Data, p.Bytes, p.SHA256 = b, len(b), hex.EncodeToString(sum[:])
	} else {
		p.URL = m.PicCon
	}
	if s.pictures == nil {
		s.pictures = map[string][]Picture{}
	}
	if _, ok := s.pictures[m.RecordID]; !ok {
		s.pictureOrder = append(s.pictureOrder, m.RecordID)
		if len(s.pictureOrder) > maxPictureRecords {
			delete(s.pictures, s.pictureOrder[0])
			s.pictureOrder = s.pictureOrder[1:]
		}
	}
	list := slices.DeleteFunc(s.pictures[m.RecordID], func(q Picture) bool { return q.InOutFlag == p.InOutFlag })
	s.pictures[m.RecordID] = append(list, p)
}

// Pictures returns the pictures received for a record, entry first.
func (s *Sim) Pictures(recordID string) []Picture {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.pictures[recordID])
	slices.SortFunc(out, func(a, b Picture) int { return a.InOutFlag - b.InOutFlag })
	return out
}

func (s *Sim) adminPictures(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, nonNil(s.Pictures(r.PathValue("record"))))
}
