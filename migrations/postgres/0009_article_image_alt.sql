-- The featured image's text alternative (front matter `image_alt`, a
-- WordPress image's alt text, a feed's media description). NULL: the image
-- is decorative and is shown with alt="".
ALTER TABLE articles ADD COLUMN image_alt TEXT;
